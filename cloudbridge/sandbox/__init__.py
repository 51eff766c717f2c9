"""The local sandbox: the whole pipeline on one machine (see python -m cloudbridge sandbox)."""
