-- Drops every account, grant, session, API token, throttle row and setup
-- token; nothing else refers to these tables. Children first.
DROP TABLE IF EXISTS auth_setup_tokens;
DROP TABLE IF EXISTS auth_throttle;
DROP TABLE IF EXISTS api_tokens;
DROP TABLE IF EXISTS auth_sessions;
DROP TABLE IF EXISTS account_persons;
DROP TABLE IF EXISTS accounts;
