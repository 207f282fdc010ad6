# The usual entry points. Everything here also works without make: each target is one command.
# The local fleet needs only a JDK and Maven; docker-up/down need Docker with Compose.

SHELL := /bin/bash
JAR := target/sluice.jar
COMPOSE := $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; else echo docker-compose; fi)

# make simulate SECONDS=30 TARGETS=10.0.0.5:50051,10.0.0.6:50051 (the same for bench)
SECONDS ?= 10
TARGETS ?= 127.0.0.1:50051,127.0.0.1:50052
TOKEN_FILE ?= run/admin-token

.PHONY: run stop status test build simulate bench docker-up docker-down docker-config

run:            ## Redis, two instances and the demo backend in the background (pids and logs in run/)
	scripts/fleet.sh up

stop:           ## stop everything `make run` started
	scripts/fleet.sh down

status:
	scripts/fleet.sh status

test:           ## the README's test command
	mvn -B verify

build:          ## the fat jar, as scripts/fleet.sh and the Dockerfile build it
	mvn -B -DskipTests package

simulate: $(JAR) ## users and abusers through both instances, with a live summary and an accuracy check
	scripts/sluice simulate --targets $(TARGETS) --seconds $(SECONDS) --token-file $(TOKEN_FILE)

bench: $(JAR)   ## check throughput and latency against the running fleet (see docs/benchmarks.md)
	scripts/sluice bench --targets $(TARGETS) --seconds $(SECONDS)

docker-up:      ## the fleet in containers: Redis, two instances, Envoy in front, the demo backend
	$(COMPOSE) up --build -d

docker-down:
	$(COMPOSE) down

docker-config:  ## validate docker-compose.yml without an engine
	$(COMPOSE) config -q

$(JAR):
	mvn -B -DskipTests package
