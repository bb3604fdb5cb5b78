-- New tables only. MariaDB commits each statement by itself, so every table
-- is made whole by one statement (its keys and indexes inline) and each is
-- safe to run again after an interruption. Secret hashes are ASCII with a
-- binary collation: hex compared byte for byte, and a smaller index.
-- Throttle keys are compared byte for byte too, as on the other databases.
-- Every foreign key column has an index of ours, so InnoDB adds none.
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER NOT NULL AUTO_INCREMENT,
    login VARCHAR(64) NOT NULL,
    display_name VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255),
    role VARCHAR(16) NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    person_id INTEGER,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_accounts_login UNIQUE (login),
    INDEX ix_accounts_person_id (person_id),
    CONSTRAINT ck_accounts_role CHECK (role IN ('admin', 'carer', 'viewer')),
    CONSTRAINT accounts_person_id_fkey FOREIGN KEY (person_id)
        REFERENCES persons (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS account_persons (
    account_id INTEGER NOT NULL,
    person_id INTEGER NOT NULL,
    PRIMARY KEY (account_id, person_id),
    INDEX ix_account_persons_person_id (person_id),
    CONSTRAINT account_persons_account_id_fkey FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE,
    CONSTRAINT account_persons_person_id_fkey FOREIGN KEY (person_id)
        REFERENCES persons (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS auth_sessions (
    id INTEGER NOT NULL AUTO_INCREMENT,
    account_id INTEGER NOT NULL,
    token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    user_agent VARCHAR(255),
    address VARCHAR(64),
    PRIMARY KEY (id),
    CONSTRAINT uq_auth_sessions_token_hash UNIQUE (token_hash),
    INDEX ix_auth_sessions_account_id (account_id),
    CONSTRAINT auth_sessions_account_id_fkey FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER NOT NULL AUTO_INCREMENT,
    account_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    prefix VARCHAR(16) NOT NULL,
    scope VARCHAR(8) NOT NULL,
    person_id INTEGER,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6),
    last_used_at DATETIME(6),
    revoked_at DATETIME(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash),
    INDEX ix_api_tokens_account_id (account_id),
    INDEX ix_api_tokens_person_id (person_id),
    CONSTRAINT ck_api_tokens_scope CHECK (scope IN ('read', 'write', 'admin')),
    CONSTRAINT api_tokens_account_id_fkey FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE,
    CONSTRAINT api_tokens_person_id_fkey FOREIGN KEY (person_id)
        REFERENCES persons (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS auth_throttle (
    throttle_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at DATETIME(6) NOT NULL,
    locked_until DATETIME(6),
    PRIMARY KEY (throttle_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS auth_setup_tokens (
    token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    PRIMARY KEY (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
