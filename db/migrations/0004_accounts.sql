-- 0004_accounts: logins, API keys and revoked sessions (services/gateway: auth.c, account.c).
--
-- users.login: the name a person logs in with, lower-case (the gateway lower-cases what is typed),
-- 1-64 printable ASCII characters without spaces; null = no login. users.password_hash (0001)
-- holds libsodium's crypto_pwhash_str (argon2id) and users.role the role.
-- api_keys: the marketplace backends' bearer keys, stored only as the SHA-256 of the key; the
-- gateway keeps the hashes of the keys that are not revoked in memory and reloads them in the
-- background (RS_GATEWAY_AUTH_REFRESH_MS), so a new or revoked key takes effect within that period.
-- sessions_revoked: session ids (the random id inside a session cookie) logged out before their
-- expiry; rows past expires_at mean nothing any more (the cookie has expired) and are deleted.

alter table users add column login text;
alter table users add constraint users_login_key unique (login);
alter table users add constraint users_login_format
    check (login = lower(login) and login ~ '^[!-~]{1,64}$');

create table api_keys (
    id         bigserial primary key,
    name       text not null check (length(name) between 1 and 100),
    key_hash   bytea not null unique check (length(key_hash) = 32),  -- SHA-256 of the key
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);

create table sessions_revoked (
    session_id bytea primary key check (length(session_id) = 16),
    expires_at timestamptz not null,
    revoked_at timestamptz not null default now()
);
create index sessions_revoked_expires_idx on sessions_revoked (expires_at);
