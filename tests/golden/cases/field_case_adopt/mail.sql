-- rows another tool wrote, in mixed case: a mailbox, its self-alias, an
-- alias, a list and a domain row
INSERT INTO mailbox (username, password, name, maildir, quota, local_part, domain, created, modified, active)
 VALUES ('Ida.Berg@Example.COM', '{SHA512-CRYPT}x', 'Ida Berg', 'example.com/Ida.Berg/', 0, 'Ida.Berg', 'Example.COM', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
 VALUES ('Ida.Berg@Example.COM', 'Ida.Berg@Example.COM', 'Example.COM', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
 VALUES ('IB@example.com', 'Ida.Berg@Example.COM', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
INSERT INTO alias (address, goto, domain, created, modified, active)
 VALUES ('Board@Example.com', 'Ida.Berg@Example.COM', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
