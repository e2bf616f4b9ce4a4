-- 0003: an embeddings table with an HNSW index for cosine nearest-neighbour search. Idempotent.
-- 1536 dimensions: the size of common text-embedding models; a model with another size gets its own table.
CREATE TABLE IF NOT EXISTS ai.embeddings (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id text        NOT NULL,
    chunk_index integer     NOT NULL CHECK (chunk_index >= 0),
    model       text        NOT NULL,
    content     text        NOT NULL,
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    embedding   vector(1536) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT embeddings_chunk_unique UNIQUE (document_id, chunk_index, model)
);

-- HNSW (pgvector's graph index): good recall without a training step, so it can be built on an empty table.
-- m / ef_construction are pgvector's defaults, stated so a change is a reviewed migration.
CREATE INDEX IF NOT EXISTS embeddings_embedding_hnsw
    ON ai.embeddings USING hnsw (embedding vector_cosine_ops)
    WITH (m = 16, ef_construction = 64);

CREATE INDEX IF NOT EXISTS embeddings_document_id ON ai.embeddings (document_id);

-- Default privileges cover tables created after 0002; this also covers a table created before it (and its
-- identity sequence).
GRANT SELECT, INSERT, UPDATE, DELETE ON ai.embeddings TO ai_app;
GRANT USAGE, SELECT ON SEQUENCE ai.embeddings_id_seq TO ai_app;
