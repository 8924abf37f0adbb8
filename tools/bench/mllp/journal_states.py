#!/usr/bin/python3
"""Prints the gateway's journal by state as JSON ({"received": 0, "translated": 51234, …}), read
from its /metrics on 127.0.0.1:PORT. Used by `run` at the end of each phase.

    journal_states.py PORT
"""
import json
import re
import sys
import urllib.request

text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
states = {m.group(1): float(m.group(2))
          for m in re.finditer(r'^helsebro_journal_messages\{state="(\w+)"\} (\S+)$', text, re.M)}
print(json.dumps(states))
