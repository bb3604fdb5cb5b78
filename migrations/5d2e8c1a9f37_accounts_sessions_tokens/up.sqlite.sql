-- New tables only. Timestamps are DATETIME text in UTC as in the other
-- tables; the store writes every one of them (no CURRENT_TIMESTAMP default,
-- which SQLite would write in another form).
CREATE TABLE IF NOT EXISTS accounts (
	id INTEGER NOT NULL, 
	login VARCHAR(64) NOT NULL, 
	display_name VARCHAR(255) NOT NULL, 
	password_hash VARCHAR(255), 
	role VARCHAR(16) NOT NULL, 
	enabled BOOLEAN DEFAULT 1 NOT NULL, 
	person_id INTEGER, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_accounts_login UNIQUE (login), 
	CONSTRAINT ck_accounts_role CHECK (role IN ('admin', 'carer', 'viewer')), 
	CONSTRAINT accounts_person_id_fkey FOREIGN KEY(person_id) REFERENCES persons (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS ix_accounts_person_id ON accounts (person_id);
CREATE TABLE IF NOT EXISTS account_persons (
	account_id INTEGER NOT NULL, 
	person_id INTEGER NOT NULL, 
	PRIMARY KEY (account_id, person_id), 
	CONSTRAINT account_persons_account_id_fkey FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE, 
	CONSTRAINT account_persons_person_id_fkey FOREIGN KEY(person_id) REFERENCES persons (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_account_persons_person_id ON account_persons (person_id);
CREATE TABLE IF NOT EXISTS auth_sessions (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	token_hash CHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	last_seen_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	user_agent VARCHAR(255), 
	address VARCHAR(64), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_auth_sessions_token_hash UNIQUE (token_hash), 
	CONSTRAINT auth_sessions_account_id_fkey FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_auth_sessions_account_id ON auth_sessions (account_id);
CREATE TABLE IF NOT EXISTS api_tokens (
	id INTEGER NOT NULL, 
	account_id INTEGER NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	token_hash CHAR(64) NOT NULL, 
	prefix VARCHAR(16) NOT NULL, 
	scope VARCHAR(8) NOT NULL, 
	person_id INTEGER, 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME, 
	last_used_at DATETIME, 
	revoked_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash), 
	CONSTRAINT ck_api_tokens_scope CHECK (scope IN ('read', 'write', 'admin')), 
	CONSTRAINT api_tokens_account_id_fkey FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE, 
	CONSTRAINT api_tokens_person_id_fkey FOREIGN KEY(person_id) REFERENCES persons (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_api_tokens_account_id ON api_tokens (account_id);
CREATE INDEX IF NOT EXISTS ix_api_tokens_person_id ON api_tokens (person_id);
CREATE TABLE IF NOT EXISTS auth_throttle (
	throttle_key VARCHAR(200) NOT NULL, 
	failures INTEGER NOT NULL, 
	last_failure_at DATETIME NOT NULL, 
	locked_until DATETIME, 
	PRIMARY KEY (throttle_key)
);
CREATE TABLE IF NOT EXISTS auth_setup_tokens (
	token_hash CHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (token_hash)
);
