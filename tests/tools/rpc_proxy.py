#!/usr/bin/env python3
# rpc_proxy.py: a JSON-RPC proxy on 127.0.0.1 in front of anvil that misbehaves on purpose
# (lost or late answers, lies about chain id and fees, huge answers, silence, a consistent
# liar about blocks and state), for the tests of what the canteen CLI and chainwatch believe.
#
#   rpc_proxy.py --upstream URL --port-file FILE [--drop-send | --drop-send-first N |
#                --delay-send MS | --hang |
#                --chain-id N | --fee WEI | --huge BYTES | --fail-send-first N | --stale-nonce |
#                --drop-receipts N | --lie | --lie-calls | --max-log-range N |
#                --drop-log-topic HEX | --drop-block-field NAME]
#                [--port N] [--record FILE] [--record-logs FILE]
#
# --record FILE: append the method of every call forwarded, one a line.
#
# --record-logs FILE: append, for every eth_getLogs answered, the number of logs and the
# blocks asked for ("N FROM-TO", decimal), one a line.
#
# --max-log-range N: refuse an eth_getLogs over more than N blocks with a provider's
# error (-32005), as hosted endpoints do; "eth_getLogs refused" goes to --record.
#
# --drop-log-topic HEX: eth_getLogs answers leave out the logs whose topic0 is HEX (an
# endpoint that withholds some events).
#
# --drop-send-first N: the first N eth_sendRawTransaction calls are forwarded and their
# answers lost; later ones are answered (a resent transaction meets the node's "known").
#
# --lie: every block hash (blocks, logs) comes back reversed, consistently, and every
# eth_call with arguments (a page of records) answers an empty list; version() and the
# rest are honest, so a client of this endpoint alone sees a plausible, wrong chain.
# Its blocks' hashes are not the hashes of their headers, which a client can check.
#
# --drop-block-field NAME: blocks come without their field NAME (a header layout the
# client cannot hash, as a chain with fields of its own would give).
#
# --lie-calls: only the eth_call part of --lie (blocks and logs true): a lie about state
# that no block header shows.
import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

opts = None
sends = 0
receipts = 0
sends_lock = threading.Lock()


def forward(body):
    req = urllib.request.Request(opts.upstream, data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def fake_hash(h):
    return "0x" + h[2:][::-1] if isinstance(h, str) and h.startswith("0x") else h


EMPTY_LIST = "0x" + "%064x" % 32 + "%064x" % 0


def lie(method, ans, call=None):
    """Rewrite one answer object the way the chosen lie says."""
    if "result" not in ans:
        return ans
    if opts.lie or opts.lie_calls:
        r = ans["result"]
        blocks = not opts.lie_calls
        if blocks and method in ("eth_getBlockByNumber", "eth_getBlockByHash") and isinstance(r, dict):
            r["hash"] = fake_hash(r.get("hash"))
        elif blocks and method == "eth_getLogs" and isinstance(r, list):
            for lg in r:
                if isinstance(lg, dict):
                    lg["blockHash"] = fake_hash(lg.get("blockHash"))
        elif method == "eth_call" and call is not None:
            params = call.get("params") or [{}]
            data = params[0].get("data") or params[0].get("input") or ""
            if len(data) > 10:
                ans["result"] = EMPTY_LIST
    if opts.drop_block_field and method in ("eth_getBlockByNumber", "eth_getBlockByHash") \
            and isinstance(ans["result"], dict):
        ans["result"].pop(opts.drop_block_field, None)
    if opts.chain_id is not None and method == "eth_chainId":
        ans["result"] = hex(opts.chain_id)
    if opts.fee is not None:
        if method in ("eth_gasPrice", "eth_maxPriorityFeePerGas"):
            ans["result"] = hex(opts.fee)
        elif method == "eth_getBlockByNumber" and isinstance(ans["result"], dict):
            ans["result"]["baseFeePerGas"] = hex(opts.fee)
        elif method == "eth_feeHistory" and isinstance(ans["result"], dict):
            r = ans["result"]
            r["baseFeePerGas"] = [hex(opts.fee) for _ in r.get("baseFeePerGas", [])]
            r["reward"] = [[hex(opts.fee)] for _ in r.get("reward", [])]
    return ans


def too_wide(call):
    """An eth_getLogs over more blocks than --max-log-range."""
    if call.get("method") != "eth_getLogs" or not call.get("params"):
        return False
    f = call["params"][0]
    try:
        return int(f["toBlock"], 16) - int(f["fromBlock"], 16) + 1 > opts.max_log_range
    except (KeyError, TypeError, ValueError):
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("rpc_proxy: " + (fmt % args) + "\n")

    def reply(self, data):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        global sends
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        req = json.loads(body)
        calls = req if isinstance(req, list) else [req]
        methods = {c.get("id"): c.get("method") for c in calls}
        by_id = {c.get("id"): c for c in calls}
        if opts.hang:
            time.sleep(3600)
            return
        if opts.max_log_range and not isinstance(req, list) and too_wide(req):
            if opts.record:
                with sends_lock, open(opts.record, "a") as f:
                    f.write("eth_getLogs refused\n")
            err = {"code": -32005, "message": "query exceeds max block range %d" % opts.max_log_range}
            self.reply(json.dumps({"jsonrpc": "2.0", "id": req.get("id"), "error": err}).encode())
            return
        if opts.huge:
            # One call's answer: a string result of the given size, sent in pieces.
            head = b'{"jsonrpc":"2.0","id":%d,"result":"0x' % calls[0].get("id", 1)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(head) + opts.huge + 2))
            self.end_headers()
            try:
                self.wfile.write(head)
                chunk = b"0" * 65536
                left = opts.huge
                while left > 0:
                    self.wfile.write(chunk[:min(left, len(chunk))])
                    left -= len(chunk)
                self.wfile.write(b'"}')
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        if opts.lie:
            # The liar's own hashes, asked back (EIP-1898 blockHash), mean the real ones.
            for c in calls:
                for prm in c.get("params") or []:
                    if isinstance(prm, dict) and "blockHash" in prm:
                        prm["blockHash"] = fake_hash(prm["blockHash"])
                if c.get("method") == "eth_getBlockByHash" and c.get("params"):
                    c["params"][0] = fake_hash(c["params"][0])
            body = json.dumps(req).encode()
        if opts.stale_nonce:
            # A lagging node: the nonce of the last block, blind to its own pool.
            for c in calls:
                if c.get("method") == "eth_getTransactionCount" and len(c.get("params", [])) == 2:
                    c["params"][1] = "latest"
            body = json.dumps(req).encode()
        if opts.drop_receipts and any(c.get("method") == "eth_getTransactionReceipt" for c in calls):
            global receipts
            with sends_lock:
                receipts += 1
                drop = receipts <= opts.drop_receipts
            if drop:
                self.close_connection = True  # the node is away for a moment
                return
        is_send = any(c.get("method") == "eth_sendRawTransaction" for c in calls)
        if is_send and opts.fail_send_first:
            with sends_lock:
                sends += 1
                first = sends <= opts.fail_send_first
            if first:
                # Never forwarded: the transaction is not in, the answer is lost anyway.
                self.close_connection = True
                return
        if opts.record:
            with sends_lock, open(opts.record, "a") as f:
                for c in calls:
                    f.write("%s\n" % c.get("method"))
        ans = forward(body)
        if is_send and opts.drop_send:
            self.close_connection = True  # forwarded, answer lost
            return
        if is_send and opts.drop_send_first:
            with sends_lock:
                sends += 1
                lost = sends <= opts.drop_send_first
            if lost:
                self.close_connection = True  # forwarded, this answer lost
                return
        if is_send and opts.delay_send:
            time.sleep(opts.delay_send / 1000.0)
        if opts.record_logs:
            a = json.loads(ans)
            with sends_lock, open(opts.record_logs, "a") as f:
                for x in (a if isinstance(a, list) else [a]):
                    c = by_id.get(x.get("id")) or {}
                    if c.get("method") == "eth_getLogs" and isinstance(x.get("result"), list):
                        q = c["params"][0]
                        f.write("%d %d-%d\n" % (len(x["result"]), int(q["fromBlock"], 16),
                                                int(q["toBlock"], 16)))
        if opts.drop_log_topic:
            a = json.loads(ans)
            for x in (a if isinstance(a, list) else [a]):
                if methods.get(x.get("id")) == "eth_getLogs" and isinstance(x.get("result"), list):
                    x["result"] = [lg for lg in x["result"]
                                   if (lg.get("topics") or [""])[0].lower() != opts.drop_log_topic.lower()]
            ans = json.dumps(a).encode()
        if opts.chain_id is not None or opts.fee is not None or opts.lie or opts.lie_calls \
                or opts.drop_block_field:
            a = json.loads(ans)
            if isinstance(a, list):
                a = [lie(methods.get(x.get("id")), x, by_id.get(x.get("id"))) for x in a]
            else:
                a = lie(methods.get(a.get("id")), a, by_id.get(a.get("id")))
            ans = json.dumps(a).encode()
        try:
            self.reply(ans)
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    global opts
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--drop-send", action="store_true")
    p.add_argument("--drop-send-first", type=int, default=0)
    p.add_argument("--delay-send", type=int, default=0)
    p.add_argument("--fail-send-first", type=int, default=0)
    p.add_argument("--hang", action="store_true")
    p.add_argument("--chain-id", type=int)
    p.add_argument("--fee", type=int)
    p.add_argument("--huge", type=int, default=0)
    p.add_argument("--stale-nonce", action="store_true")
    p.add_argument("--drop-receipts", type=int, default=0)
    p.add_argument("--lie", action="store_true")
    p.add_argument("--lie-calls", action="store_true")
    p.add_argument("--drop-block-field")
    p.add_argument("--max-log-range", type=int, default=0)
    p.add_argument("--drop-log-topic")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--record")
    p.add_argument("--record-logs")
    opts = p.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", opts.port), Handler)
    with open(opts.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(opts.port_file + ".tmp", opts.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
