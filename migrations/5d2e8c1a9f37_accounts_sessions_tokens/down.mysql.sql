-- Drops every account, grant, session, API token, throttle row and setup
-- token; nothing else refers to these tables. Children first, each statement
-- safe to run again after an interruption (MariaDB commits DDL at once).
DROP TABLE IF EXISTS auth_setup_tokens;
DROP TABLE IF EXISTS auth_throttle;
DROP TABLE IF EXISTS api_tokens;
DROP TABLE IF EXISTS auth_sessions;
DROP TABLE IF EXISTS account_persons;
DROP TABLE IF EXISTS accounts;
