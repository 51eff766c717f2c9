"""``python -m cloudbridge <command>``."""

import sys


def main() -> int:
    """Dispatch ``python -m cloudbridge <command>`` to the command's module."""
    commands = {
        "plan": "cloudbridge.plan_cli",
        "metadata": "cloudbridge.metadata",
        "validate": "cloudbridge.validate",
        "replay": "cloudbridge.replay",
        "preflight": "cloudbridge.preflight",
        "sandbox": "cloudbridge.sandbox.run",
        "config-doc": "cloudbridge.configdoc",
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(f"usage: python -m cloudbridge {{{','.join(commands)}}} [options]", file=sys.stderr)
        return 2
    import importlib

    module = importlib.import_module(commands[sys.argv[1]])
    return module.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
