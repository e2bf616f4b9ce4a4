-- 0002: the application's role and schema, least privilege. Idempotent.
-- The migrations run as the master user, which owns the schema and every table in it: the application can read
-- and write rows, never change the schema, and never touch anything outside it.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ai_app') THEN
        -- No password: on Aurora the application signs in with IAM database authentication (rds_iam below).
        CREATE ROLE ai_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
    -- rds_iam exists only on RDS/Aurora: membership makes the role sign in with an IAM token, never a password.
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO ai_app;
    END IF;
END
$$;

ALTER ROLE ai_app SET search_path = ai, public;
ALTER ROLE ai_app SET statement_timeout = '30s';
ALTER ROLE ai_app SET idle_in_transaction_session_timeout = '60s';

-- Nobody but the owner creates objects in public (the PostgreSQL 15+ default, stated for older majors too).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Only named roles may connect to the application database. The application may connect and nothing else: no
-- CREATE (schemas, trusted extensions) and no TEMPORARY (it creates no table, not even a session's own). Revoking
-- first makes a re-run converge on exactly that, whatever an earlier version or a person granted.
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM ai_app', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO ai_app', current_database());
END
$$;

CREATE SCHEMA IF NOT EXISTS ai;
REVOKE ALL ON SCHEMA ai FROM PUBLIC;
GRANT USAGE ON SCHEMA ai TO ai_app;

-- Tables and sequences the migrations create later are usable (not alterable) by the application: rows only,
-- never TRUNCATE, REFERENCES (foreign keys pinning the owner's tables) or TRIGGER; sequences advance, never reset.
ALTER DEFAULT PRIVILEGES IN SCHEMA ai GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ai_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA ai GRANT USAGE, SELECT ON SEQUENCES TO ai_app;
REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA ai FROM ai_app;
REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA ai FROM ai_app;
