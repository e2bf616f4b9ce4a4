-- 0001: extensions. Idempotent: safe to apply on every run of the migrations Job.
-- pgvector (>= 0.8 on the engine versions the platform allows) for embeddings and their HNSW indexes.
CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;
-- After an engine upgrade, move the installed extension to the newest version the engine ships.
ALTER EXTENSION vector UPDATE;

-- Query statistics (the cluster parameter group preloads the library); skipped where the server does not ship it.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_stat_statements') THEN
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public;
    END IF;
END
$$;
