#!/usr/bin/python3
"""readmail.py MSG.eml OUTDIR: parse one notification with the email module.

Writes OUTDIR/headers (Subject, From, To, Content-Type of the message),
OUTDIR/body.txt (the decoded text/plain part), OUTDIR/attachment.json (the
decoded application/json attachment) and OUTDIR/attachment.name; exits 1
if the message is not multipart/mixed with exactly those two parts.
"""
import email
import email.policy
import json
import os
import sys

msg = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                     policy=email.policy.default)
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "headers"), "w") as f:
    for h in ("Subject", "From", "To", "Date", "Message-ID",
              "Auto-Submitted"):
        f.write("%s: %s\n" % (h, msg.get(h, "")))
    f.write("Content-Type: %s\n" % msg.get_content_type())
if msg.get_content_type() != "multipart/mixed":
    sys.exit("not multipart/mixed: %s" % msg.get_content_type())
parts = [p for p in msg.iter_parts()]
texts = [p for p in parts if p.get_content_type() == "text/plain"]
jsons = [p for p in parts if p.get_content_type() == "application/json"]
if len(texts) != 1 or len(parts) > 2 or len(jsons) > 1:
    sys.exit("unexpected parts: %s" % [p.get_content_type() for p in parts])
with open(os.path.join(out, "body.txt"), "w") as f:
    f.write(texts[0].get_content())
if jsons:
    data = jsons[0].get_payload(decode=True)
    json.loads(data)  # must parse
    with open(os.path.join(out, "attachment.json"), "wb") as f:
        f.write(data)
    with open(os.path.join(out, "attachment.name"), "w") as f:
        f.write("%s %s\n" % (jsons[0].get_filename(),
                             jsons[0].get_content_disposition()))
