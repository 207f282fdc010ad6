#!/usr/bin/env python3
"""Ask Sluice whether a user may act, as a Python backend would: one Check with a deadline.

    python3 -m grpc_tools.protoc -I ../../src/main/proto --python_out=. --grpc_python_out=. sluice.proto
    python3 check.py --target 127.0.0.1:50051 --user alice --action login

Prints what the backend would answer its user and exits 0 (go ahead: HTTP 200), 1 (too fast: 429
with Retry-After), 2 (banned: 403), or 3 when Sluice could not be asked in time: then this backend
goes ahead (fail open, counted in its own log), since a login page that is down because the rate
limiter is hurts more than a few unlimited attempts. Choose otherwise where abuse costs more.
"""
import argparse
import math
import sys

import grpc

import sluice_pb2
import sluice_pb2_grpc

DEADLINE_SECONDS = 0.25


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--user", required=True)
    parser.add_argument("--action", required=True)
    parser.add_argument("--cost", type=int, default=1)
    args = parser.parse_args()

    with grpc.insecure_channel(args.target) as channel:
        limiter = sluice_pb2_grpc.RateLimiterStub(channel)
        try:
            answer = limiter.Check(sluice_pb2.CheckRequest(user_id=args.user, action=args.action, cost=args.cost),
                                   timeout=DEADLINE_SECONDS)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                print(f"400 {error.details()}")
                return 4
            print(f"200 (sluice not asked: {error.code().name}; failing open)")
            return 3

    retry_after = math.ceil(answer.retry_after_ms / 1000)
    if answer.decision == sluice_pb2.ALLOW:
        print(f"200 rule={answer.rule} remaining={answer.remaining}")
        return 0
    if answer.decision == sluice_pb2.DENY:
        print(f"429 Retry-After: {retry_after} rule={answer.rule}")
        return 1
    print(f"403 banned for {retry_after} s: {answer.ban_reason}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
