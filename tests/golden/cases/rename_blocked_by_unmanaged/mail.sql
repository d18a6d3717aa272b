-- Someone made anna@ by hand: dirsync does not manage it.
INSERT INTO alias (address, goto, domain, created, modified, active)
  VALUES ('anna@example.com', 'someone@example.com', 'example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
