-- Rows someone else created (by hand, Postfixadmin): dirsync does not
-- manage them.
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, created, modified, active)
  VALUES ('bob@example.com', '{SHA512-CRYPT}x', 'Bob (hand made)', 'example.com/bob/', 0, 'bob', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
  VALUES ('bob@example.com', 'bob@example.com', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
  VALUES ('sales@example.com', 'someone@example.com', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
