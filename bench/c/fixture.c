/*
 * The process every benchmark runs: a tiny long-running program whose argv carries a unique marker,
 * so the bench can find it in /proc by its command line.
 *
 *   fixture MARKER
 *       waits for a signal.
 *   fixture MARKER READY_FILE DELAY_MS DEP_READY_FILE RECORD_FILE
 *       writes RECORD_FILE "<start ns> <ready ns of its dependency, or -1 if not ready yet>",
 *       creates READY_FILE (atomically, holding its ready time in ns) DELAY_MS after its start, then
 *       prints "ready" and waits. DEP_READY_FILE "-" means no dependency (recorded as 0).
 *       On SIGTERM/SIGINT/SIGHUP it removes READY_FILE before exiting: like a port that closes,
 *       "ready" means "running and ready".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *ready_file;

static void on_signal(int sig) {
  (void)sig;
  if (ready_file != NULL) unlink(ready_file);
  _exit(0);
}

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long read_ns(const char *file) {
  char buf[64];
  int fd = open(file, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  return atoll(buf);
}

static void write_file(const char *file, const char *text) {
  char temp[4096];
  snprintf(temp, sizeof temp, "%s.%d.tmp", file, (int)getpid());
  int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  ssize_t unused = write(fd, text, strlen(text));
  (void)unused;
  close(fd);
  rename(temp, file);
}

int main(int argc, char **argv) {
  long long start = now_ns();
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGHUP, &action, NULL);
  if (argc >= 6) {
    char line[128];
    long long dep = strcmp(argv[4], "-") == 0 ? 0 : read_ns(argv[4]);
    snprintf(line, sizeof line, "%lld %lld\n", start, dep);
    write_file(argv[5], line);
    long delay = atol(argv[3]);
    struct timespec until = { .tv_sec = delay / 1000, .tv_nsec = (delay % 1000) * 1000000L };
    while (nanosleep(&until, &until) != 0 && errno == EINTR) {}
    ready_file = argv[2];
    snprintf(line, sizeof line, "%lld\n", now_ns());
    write_file(argv[2], line);
    /* The same moment as a log line, for readiness by logLine. */
    ssize_t unused = write(1, "ready\n", 6);
    (void)unused;
  }
  for (;;) pause();
}
