-- A Postfixadmin-shaped PostgreSQL schema, as an existing install has it:
-- BOOLEAN active/backupmx, timestamptz, foreign keys to domain, and
-- columns dirsync does not know (phone, token ...).  For test_pgsql_postfixadmin.sh.
CREATE TABLE domain (
  domain varchar(255) PRIMARY KEY,
  description varchar(255) NOT NULL DEFAULT '',
  aliases integer NOT NULL DEFAULT 0,
  mailboxes integer NOT NULL DEFAULT 0,
  maxquota bigint NOT NULL DEFAULT 0,
  quota bigint NOT NULL DEFAULT 0,
  transport varchar(255) DEFAULT NULL,
  backupmx boolean NOT NULL DEFAULT false,
  created timestamp with time zone DEFAULT now(),
  modified timestamp with time zone DEFAULT now(),
  active boolean NOT NULL DEFAULT true,
  password_expiry int DEFAULT 0);
CREATE TABLE mailbox (
  username varchar(255) PRIMARY KEY,
  password varchar(255) NOT NULL DEFAULT '',
  name varchar(255) NOT NULL DEFAULT '',
  maildir varchar(255) NOT NULL DEFAULT '',
  quota bigint NOT NULL DEFAULT 0,
  created timestamp with time zone DEFAULT now(),
  modified timestamp with time zone DEFAULT now(),
  active boolean NOT NULL DEFAULT true,
  domain varchar(255) REFERENCES domain,
  local_part varchar(255) NOT NULL,
  phone varchar(30) NOT NULL DEFAULT '',
  email_other varchar(255) NOT NULL DEFAULT '',
  token varchar(255) NOT NULL DEFAULT '',
  token_validity timestamp with time zone DEFAULT '2000-01-01 00:00:00+00',
  password_expiry timestamp with time zone DEFAULT '2000-01-01 00:00:00+00');
CREATE INDEX mailbox_domain_idx ON mailbox(domain);
CREATE TABLE alias (
  address varchar(255) PRIMARY KEY,
  goto text NOT NULL,
  domain varchar(255) NOT NULL REFERENCES domain,
  created timestamp with time zone DEFAULT now(),
  modified timestamp with time zone DEFAULT now(),
  active boolean NOT NULL DEFAULT true);
CREATE INDEX alias_address_active ON alias(address, active);
CREATE TABLE alias_domain (
  alias_domain varchar(255) NOT NULL REFERENCES domain(domain) ON DELETE CASCADE,
  target_domain varchar(255) NOT NULL REFERENCES domain(domain) ON DELETE CASCADE,
  created timestamp with time zone DEFAULT now(),
  modified timestamp with time zone DEFAULT now(),
  active boolean NOT NULL DEFAULT true,
  PRIMARY KEY(alias_domain));
