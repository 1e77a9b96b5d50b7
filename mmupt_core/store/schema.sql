-- The run store's tables (DuckDB). Loaded by mmupt_core/store/connection.py; every statement is idempotent.
create table if not exists runs (
    run_id varchar primary key,
    created_at timestamp not null,
    config_hash varchar not null,
    config_json varchar not null,
    parent_run_id varchar,
    parent_round integer,
    supervised boolean not null default false
);
create table if not exists rounds (
    run_id varchar not null,
    round integer not null,
    status varchar not null,
    started_at timestamp,
    finished_at timestamp,
    primary key (run_id, round)
);
create table if not exists stages (
    run_id varchar not null,
    round integer not null,
    stage varchar not null,
    status varchar not null,
    config_hash varchar not null,
    started_at timestamp,
    finished_at timestamp,
    wall_s double,
    error varchar,
    primary key (run_id, round, stage)
);
create table if not exists items (
    run_id varchar not null,
    round integer not null,
    stage varchar not null,
    item_id varchar not null,
    split varchar,
    source varchar not null,
    image_path varchar,
    question varchar not null,
    choices varchar,
    answer varchar,
    parent_item_id varchar,
    meta varchar,
    primary key (run_id, round, stage, item_id)
);
create table if not exists checkpoints (
    checkpoint_id varchar primary key,
    run_id varchar not null,
    round integer not null,
    stage varchar not null,
    path varchar not null,
    parent_id varchar,
    status varchar not null,
    created_at timestamp not null
);
create table if not exists pseudo_labels (
    run_id varchar not null,
    round integer not null,
    stage varchar not null,
    item_id varchar not null,
    label varchar,
    votes integer not null,
    n_valid integer not null,
    agreement double not null,
    accepted boolean not null,
    primary key (run_id, round, stage, item_id)
);
create table if not exists metrics (
    run_id varchar not null,
    round integer not null,
    stage varchar not null,
    benchmark varchar not null,
    metric varchar not null,
    value double,
    n integer,
    primary key (run_id, round, stage, benchmark, metric)
);
create table if not exists rejected_items (
    run_id varchar not null,
    round integer not null,
    stage varchar not null,
    item_id varchar not null,
    reason varchar not null
);
create table if not exists samples (
    run_id varchar not null,
    round integer not null,
    stage varchar not null,
    path varchar not null,
    n_rows integer not null,
    primary key (run_id, round, stage, path)
);
create table if not exists synthesis (
    run_id varchar not null,
    round integer not null,
    stage varchar not null,
    candidate_idx integer not null,
    parent_item_id varchar not null,
    strategy varchar not null,
    generator_checkpoint varchar not null,
    text varchar,
    question varchar,
    item_id varchar,
    outcome varchar not null,
    label varchar,
    agreement double,
    primary key (run_id, round, stage, candidate_idx)
);
-- Added after the first stores were written: which config file and overrides a run was started with.
alter table runs add column if not exists config_source varchar;
