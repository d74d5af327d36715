/*
 * reaper COMMAND ARGS...: runs COMMAND as a child subreaper (prctl PR_SET_CHILD_SUBREAPER) and
 * reaps every orphan that is re-parented to it, as a real init would. PID 1 in some containers
 * never reaps: without this, every process a benchmark run leaves orphaned (procman's daemonized
 * processes, what supervisord and PM2 start) would stay a zombie, using up PIDs and slowing down
 * every later scan of /proc. Exits with COMMAND's status once COMMAND exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: reaper COMMAND ARGS...\n");
    return 2;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) perror("prctl(PR_SET_CHILD_SUBREAPER)");
  child = fork();
  if (child < 0) { perror("fork"); return 1; }
  if (child == 0) {
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    _exit(127);
  }
  /* Ctrl-C reaches the whole foreground group; the command decides how to end. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, forward);
  signal(SIGHUP, forward);
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (pid == child) {
      while (waitpid(-1, NULL, WNOHANG) > 0) {}
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
  }
}
