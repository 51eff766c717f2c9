-- Every common PostgreSQL type, composite and missing primary keys, and the same table
-- name in two schemas: what the metadata extraction must handle.
create type mood as enum ('happy', 'sad');
create schema sales;
create schema archive;

create table sales.all_types (
    id              bigint primary key,
    c_int2          smallint not null,
    c_int4          integer,
    c_int8          bigint,
    c_numeric_10_2  numeric(10, 2),
    c_numeric       numeric,
    c_numeric_40    numeric(40, 5),
    c_money         money,
    c_real          real,
    c_double        double precision,
    c_bool          boolean not null,
    c_text          text,
    c_varchar_30    varchar(30),
    c_varchar       varchar,
    c_char_3        char(3),
    c_uuid          uuid,
    c_json          json,
    c_jsonb         jsonb,
    c_bytea         bytea,
    c_date          date,
    c_time          time,
    c_timestamp     timestamp,
    c_timestamptz   timestamptz,
    c_interval      interval,
    c_enum          mood,
    c_int_array     integer[],
    c_text_array    text[]
);

create table sales.order_lines (
    order_id  bigint not null,
    line_no   smallint not null,
    sku       varchar(40) not null,
    primary key (order_id, line_no)
);

create table sales.audit_log (
    happened_at  timestamptz not null,
    message      text
);

create table sales.orders (order_id bigint primary key, total numeric(12, 2) not null);
create table archive.orders (order_id bigint primary key, archived_on date not null, total numeric(14, 4));
create table archive.ignored (x integer);
