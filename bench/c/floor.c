/*
 * The floor: the least a process manager has to do, as a C program.
 *
 *   floor up PID_DIR SPEC_FILE POLL_MS [LOG_DIR]
 *       SPEC_FILE has one line per process: DEP<TAB>READY_FILE<TAB>ARGV0<TAB>ARG1...
 *       (DEP: the line number, from 0, of the process it waits for, or -1; READY_FILE: "-" for none).
 *       Each process is fork/exec'd with setsid, stdin/stdout/stderr on /dev/null, as soon as its
 *       dependency's READY_FILE exists (checked every POLL_MS), and its PID written to
 *       PID_DIR/<line>.pid. Exits once every process is started and every READY_FILE exists.
 *       With LOG_DIR, stdout and stderr go to LOG_DIR/<line>.log instead (opened before the fork).
 *   floor down PID_DIR
 *       SIGTERM to every PID in the PID files of PID_DIR, then waits until each is gone (no /proc entry, or a
 *       zombie), then removes the PID files.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct proc {
  int dep;
  char *ready;
  char **argv;
  int started, is_ready;
};

static void msleep(long ms) {
  struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

static char *slurp(const char *file) {
  FILE *f = fopen(file, "r");
  if (f == NULL) { perror(file); exit(2); }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc(size + 1);
  if (fread(text, 1, size, f) != (size_t)size) { perror(file); exit(2); }
  text[size] = 0;
  fclose(f);
  return text;
}

/* LOG_DIR given: each child's stdout and stderr go to LOG_DIR/INDEX.log, created (or appended to)
 * by the floor before the fork, as a manager that keeps logs must: the "floor + logs" variant. */
static const char *log_dir;

static void start(const char *pid_dir, int index, struct proc *p) {
  int out = -1;
  if (log_dir != NULL) {
    char log[4096];
    snprintf(log, sizeof log, "%s/%d.log", log_dir, index);
    out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (out < 0) { perror(log); exit(1); }
  }
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); exit(1); }
  if (pid == 0) {
    setsid();
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(out >= 0 ? out : null, 1); dup2(out >= 0 ? out : null, 2);
    if (null > 2) close(null);
    execv(p->argv[0], p->argv);
    _exit(127);
  }
  if (out >= 0) close(out);
  char file[4096], text[32];
  snprintf(file, sizeof file, "%s/%d.pid", pid_dir, index);
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror(file); exit(1); }
  int n = snprintf(text, sizeof text, "%d\n", (int)pid);
  if (write(fd, text, n) != n) { perror(file); exit(1); }
  close(fd);
  p->started = 1;
}

static int up(const char *pid_dir, const char *spec, long poll_ms) {
  char *text = slurp(spec);
  int count = 0;
  for (char *c = text; *c; c++) if (*c == '\n') count++;
  struct proc *procs = calloc(count, sizeof *procs);
  char *save_line = NULL;
  int n = 0;
  for (char *line = strtok_r(text, "\n", &save_line); line != NULL && n < count; line = strtok_r(NULL, "\n", &save_line)) {
    int fields = 1;
    for (char *c = line; *c; c++) if (*c == '\t') fields++;
    char **argv = calloc(fields + 1, sizeof *argv);
    char *save_field = NULL;
    int f = 0;
    for (char *field = strtok_r(line, "\t", &save_field); field != NULL; field = strtok_r(NULL, "\t", &save_field)) argv[f++] = field;
    procs[n].dep = atoi(argv[0]);
    procs[n].ready = strcmp(argv[1], "-") == 0 ? NULL : argv[1];
    procs[n].is_ready = procs[n].ready == NULL;
    procs[n].argv = argv + 2;
    n++;
  }
  for (;;) {
    /* Readiness first, so that a dependent starts in the same round its dependency is seen ready. */
    for (int i = 0; i < n; i++) {
      struct proc *p = &procs[i];
      struct stat st;
      if (p->started && !p->is_ready && stat(p->ready, &st) == 0) p->is_ready = 1;
    }
    int pending = 0;
    for (int i = 0; i < n; i++) {
      struct proc *p = &procs[i];
      if (!p->started && (p->dep < 0 || procs[p->dep].is_ready)) start(pid_dir, i, p);
      if (!p->started || !p->is_ready) pending++;
    }
    if (pending == 0) return 0;
    msleep(poll_ms);
  }
}

static int gone(pid_t pid) {
  char file[64], buf[512];
  snprintf(file, sizeof file, "/proc/%d/stat", (int)pid);
  int fd = open(file, O_RDONLY);
  if (fd < 0) return 1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 1;
  buf[n] = 0;
  char *paren = strrchr(buf, ')');
  return paren == NULL || paren[2] == 'Z' || paren[2] == 'X';
}

static int down(const char *pid_dir) {
  DIR *dir = opendir(pid_dir);
  if (dir == NULL) { perror(pid_dir); return 1; }
  int capacity = 1024, n = 0;
  pid_t *pids = malloc(capacity * sizeof *pids);
  struct dirent *entry;
  char file[4096], text[32];
  while ((entry = readdir(dir)) != NULL) {
    size_t len = strlen(entry->d_name);
    if (len < 5 || strcmp(entry->d_name + len - 4, ".pid") != 0) continue;
    snprintf(file, sizeof file, "%s/%s", pid_dir, entry->d_name);
    int fd = open(file, O_RDONLY);
    if (fd < 0) continue;
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    unlink(file);
    if (got <= 0) continue;
    text[got] = 0;
    pid_t pid = atoi(text);
    if (pid <= 1) continue;
    if (n == capacity) pids = realloc(pids, (capacity *= 2) * sizeof *pids);
    pids[n++] = pid;
    kill(pid, SIGTERM);
  }
  closedir(dir);
  for (;;) {
    int left = 0;
    for (int i = 0; i < n; i++) {
      if (pids[i] == 0) continue;
      if (gone(pids[i])) pids[i] = 0;
      else left++;
    }
    if (left == 0) return 0;
    msleep(1);
  }
}

int main(int argc, char **argv) {
  if ((argc == 5 || argc == 6) && strcmp(argv[1], "up") == 0) {
    if (argc == 6) log_dir = argv[5];
    return up(argv[2], argv[3], atol(argv[4]));
  }
  if (argc == 3 && strcmp(argv[1], "down") == 0) return down(argv[2]);
  fprintf(stderr, "usage: floor up PID_DIR SPEC_FILE POLL_MS [LOG_DIR] | floor down PID_DIR\n");
  return 2;
}
