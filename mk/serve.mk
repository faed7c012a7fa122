# tcssl.serve's handshake benchmark (not part of make test; its specs are in the nginx suite):
#   make bench-serve   handshakes/s through tcssl.serve against static ssl_certificate in the
#                      same nginx, interleaved rounds (bench/serve.lua; SERVE_ROUNDS, SERVE_SECONDS)
SERVE_PKGS := openssl libssl-dev  # the nginx suite's serve specs shake hands with `openssl s_client`
SERVE_ROUNDS ?= 9
SERVE_SECONDS ?= 1
SERVE_CLIENT := build/bench/handshakes

.PHONY: bench-serve

$(SERVE_CLIENT): bench/handshakes.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_POSIX_C_SOURCE=200809L -O2 -o $@ $< -lssl -lcrypto

bench-serve: all luajit $(SERVE_CLIENT)
	@lua5.4 bench/serve.lua $(SERVE_ROUNDS) $(SERVE_SECONDS)
