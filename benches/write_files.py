#!/usr/bin/env python3
# A bare writer, the baseline of the dry run in benches/smtp.sh:
# writes N files of SIZE bytes into DIR from THREADS threads (open, one
# write, close: what a dry run does per message, minus building it).
#
#   python3 benches/write_files.py DIR N SIZE THREADS
import os
import sys
import threading

folder, n, size, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(folder, exist_ok=True)
payload = (b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4\r\n" * (size // 78 + 1))[:size]


def work(k):
    for i in range(k, n, threads):
        fd = os.open(os.path.join(folder, f"reader{i:07d}@example.com.eml"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, payload)
        os.close(fd)


ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
