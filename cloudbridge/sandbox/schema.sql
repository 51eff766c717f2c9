-- The sample OLTP schema of the "sales" source: what the dev stack selects and what the
-- local sandbox creates. Its committed metadata (metadata/sales/) is extracted from it.
create type order_status as enum ('new', 'paid', 'shipped', 'cancelled');

create table public.customers (
    customer_id   bigint primary key,
    email         varchar(320) not null,
    full_name     varchar(200) not null,
    country_code  char(2) not null,
    is_active     boolean not null default true,
    credit_limit  numeric(12, 2),
    created_at    timestamptz not null default now()
);

create table public.products (
    product_id    integer primary key,
    sku           varchar(40) not null unique,
    name          varchar(200) not null,
    unit_price    numeric(10, 2) not null,
    weight_kg     real,
    stock         smallint not null default 0,
    released_on   date
);

create table public.orders (
    order_id      bigint primary key,
    customer_id   bigint not null references public.customers,
    status        order_status not null default 'new',
    ordered_at    timestamp not null,
    total         numeric(14, 2) not null,
    notes         varchar(500)
);

create table public.order_lines (
    order_id      bigint not null references public.orders on delete cascade,
    line_no       smallint not null,
    product_id    integer not null references public.products,
    quantity      integer not null,
    unit_price    numeric(10, 2) not null,
    discount_pct  numeric(5, 2) not null default 0,
    primary key (order_id, line_no)
);
