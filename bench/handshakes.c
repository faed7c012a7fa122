/* Full TLS handshakes per second against 127.0.0.1:PORT with an SNI name, for
 * bench/serve.lua: each handshake is a new TCP connection and a new session (no resumption),
 * closed once the handshake ends. Prints "<handshakes> <seconds> <failures>".
 *   handshakes PORT NAME SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int handshake(SSL_CTX *ctx, int port, const char *name) {
  int ok = 0, fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
    SSL *ssl = SSL_new(ctx);
    if (ssl) {
      SSL_set_fd(ssl, fd);
      SSL_set_tlsext_host_name(ssl, name);
      ok = SSL_connect(ssl) == 1;
      if (ok) SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }
  close(fd);
  ERR_clear_error();
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: handshakes PORT NAME SECONDS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  double seconds = atof(argv[3]);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return 1;
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  long count = 0, failures = 0;
  double start = now(), elapsed = 0;
  while (elapsed < seconds && failures < 1000) {
    if (handshake(ctx, port, argv[2]))
      count++;
    else
      failures++;
    elapsed = now() - start;
  }
  printf("%ld %.6f %ld\n", count, elapsed, failures);
  SSL_CTX_free(ctx);
  return 0;
}
