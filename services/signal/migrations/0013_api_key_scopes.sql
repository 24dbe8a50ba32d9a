-- What each API key may do (F-API-1). Keys made before scopes keep every
-- scope, as they could do everything their administrator could.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '["profile","directory_read","accounts_manage","api_keys_manage","meetings_read","meetings_manage"]';
