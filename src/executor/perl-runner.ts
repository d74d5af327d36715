// The spawning runner in Perl, when the machine has it (perl-base is Essential on Debian and
// Ubuntu; elsewhere the /bin/sh runner or procman's own spawn do the same work). A shell needs
// two extra programs per child — util-linux setsid for the session and GNU env for the exact
// environment and the default signals — and each exec of them costs about as much as the fork
// itself; Perl has setsid, %ENV, umask and chdir built in, so a child is one fork and one exec, as
// in the C floor. It also does, beside procman instead of on procman's thread, the two things every
// start needs once forked, while the child is still unreaped: reading the child's start time (its
// identity) and writing its PID file (a temp file created without following a link, then one
// rename).
//
// The protocol is spawn-runner.ts's: one request per line, one answer per line. Every field that
// comes from the model is hex, so no byte of it is ever parsed by Perl. Perl reaps nothing it is
// not asked to (a child's status stays in its zombie until `W`), except the checks it runs.
import { lstatSync, readdirSync, unlinkSync } from "node:fs";
import path from "node:path";
import type { RunnerRequest } from "./spawn-runner.js";

export const PERL = "/usr/bin/perl";

/**
 * argv for spawn(): the script itself, with procman's PID, which must be the runner's parent (a
 * procman gone, the runner reparented, means: start nothing more). `reap`: the runner reaps its
 * children as they exit and reports each (`D pid status`), for a parent that lives on (the
 * supervisor); otherwise it keeps them as zombies until asked (`W`).
 */
export function perlRunnerArgs(owner: number, reap = false): string[] {
  return ["-e", SCRIPT, String(owner), reap ? "1" : "0"];
}

const hex = (text: string): string => Buffer.from(text, "utf8").toString("hex");

function lists(request: Omit<RunnerRequest, "logFd">): string {
  const environment = Object.entries(request.environment).map(([key, value]) => hex(`${key}=${value}`));
  const umask = request.umask === undefined ? "-" : Number.parseInt(request.umask, 8).toString(8);
  return `${umask} ${hex(request.directory)} ${request.argv.length} ${request.argv.map(hex).join(" ")} ${environment.length} ${environment.join(" ")}`;
}

/**
 * Answered by `P id pid starttime state written` or `E id`. written: "-" (no PID file asked), an
 * errno (0: written), or "later": then `F id errno` follows, once no request waits (the runner
 * forks a batch first).
 */
export function perlSpawnLine(id: number, request: RunnerRequest): string {
  const pidFile = request.pidFile === undefined ? "-" : hex(request.pidFile);
  return `S ${id} ${request.logFd} ${pidFile} ${lists(request)}`;
}

/** Answered by `C id pid` once forked, then `X id status` (the wait status, as waitpid gives it). */
export function perlCheckLine(id: number, request: Omit<RunnerRequest, "logFd">): string {
  return `C ${id} ${lists(request)}`;
}

/** Answered by `X id status` (the wait status) once the child is reaped (asked only once /proc shows it dead). */
export function perlWaitLine(id: number, pid: number): string {
  return `W ${id} ${pid}`;
}

/**
 * The temp file pid_file (below) makes for `pidFile` — `.NAME.OWNER.RANDOM.tmp` beside it — left
 * behind by a runner of `owner` that ended between creating it and the rename: removed by name,
 * never followed.
 */
export function removePerlTemp(pidFile: string, owner: number): void {
  const directory = path.dirname(pidFile);
  const prefix = `.${path.basename(pidFile)}.${owner}.`;
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^[0-9a-f]{16}\.tmp$/.test(name.slice(prefix.length))) continue;
    try {
      if (lstatSync(path.join(directory, name)).isFile()) unlinkSync(path.join(directory, name));
    } catch {
      // gone already
    }
  }
}

// No `use warnings`: a warning would land in a service's log. Every print is one write ($| = 1).
const SCRIPT = String.raw`
use strict;
use POSIX ();
use Fcntl qw(O_RDONLY O_WRONLY O_APPEND O_CREAT O_EXCL O_NOFOLLOW);
my $owner = shift @ARGV;
my $reap = shift @ARGV;
$| = 1;
my %checks;
my $chld = POSIX::SigSet->new(POSIX::SIGCHLD());
my $none = POSIX::SigSet->new();
$SIG{CHLD} = sub {
  # Its waitpid sets $? (and $!): a handler run between a W's waitpid and its print would report a
  # check's status for the process asked about.
  local ($?, $!);
  if ($reap) {
    while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
      if (exists $checks{$pid}) { print "X $checks{$pid} $?\n"; delete $checks{$pid} }
      else { print "D $pid $?\n" }
    }
    return;
  }
  for my $pid (keys %checks) {
    next unless waitpid($pid, POSIX::WNOHANG()) == $pid;
    print "X $checks{$pid} $?\n";
    delete $checks{$pid};
  }
};
sub unhex { return pack("H*", $_[0]) }
sub lists {
  my @f = @_;
  my $umask = shift @f; my $dir = unhex(shift @f);
  my $argc = shift @f; my @argv = map { unhex($_) } splice(@f, 0, $argc);
  my $envc = shift @f; my @env = map { unhex($_) } splice(@f, 0, $envc);
  return ($umask, $dir, \@argv, \@env);
}
# The environment is the runner's own when it forks (set_env, before the fork): the child touches
# as little of Perl's memory as it can (every page it writes is copied) before its exec.
sub set_env {
  my $env = shift;
  %ENV = ();
  for (@$env) { my ($k, $v) = split(/=/, $_, 2); $ENV{$k} = $v }
}
sub child {
  my ($out, $umask, $dir, $argv) = @_;
  $SIG{CHLD} = 'DEFAULT';
  POSIX::sigprocmask(POSIX::SIG_SETMASK(), $none);
  POSIX::setsid();
  umask(oct($umask)) if $umask ne '-';
  POSIX::dup2($out, 1); POSIX::dup2($out, 2);
  POSIX::close($out) if $out > 2;
  my $in = POSIX::open('/dev/null', O_RDONLY);
  if (defined $in && $in != 0) { POSIX::dup2($in, 0); POSIX::close($in) }
  unless (chdir($dir)) { print STDERR "procman: cannot change to directory $dir: $!\n"; POSIX::_exit(1) }
  { exec { $argv->[0] } @$argv; }
  print STDERR "procman: cannot run $argv->[0]: $!\n";
  POSIX::_exit(127);
}
sub start_of {
  my $pid = shift;
  open(my $fh, '<', "/proc/$pid/stat") or return ('-', '-');
  local $/; my $s = <$fh>; close($fh);
  my $r = rindex($s, ')');
  return ('-', '-') if $r < 0;
  my @f = split(/ /, substr($s, $r + 2));
  return (defined $f[19] ? $f[19] : '-', $f[0]);
}
sub pid_file {
  my ($file, $pid) = @_;
  my $slash = rindex($file, '/');
  my $temp = substr($file, 0, $slash + 1) . '.' . substr($file, $slash + 1) . ".$owner." . sprintf('%08x%08x', int(rand(2**32)), int(rand(2**32))) . '.tmp';
  my $fh;
  sysopen($fh, $temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644) or return $! + 0;
  my $data = "$pid\n";
  my $error = 0;
  my $n = syswrite($fh, $data);
  $error = $! + 0 || 5 unless defined $n && $n == length($data);
  unless (close($fh)) { $error ||= $! + 0 || 5 }
  if (!$error && !rename($temp, $file)) { $error = $! + 0 || 5 }
  unlink($temp) if $error;
  return $error;
}
print "OK\n";
# Without reaping (a command's runner), a batch of starts is forked first and answered once no
# request waits, or once 16 are waiting for their answer: their start times are read then (right
# after the fork, /proc/PID/stat waits for the child's exec), and one write answers them all (one
# per start woke procman once per child): both took the CPU the forks need (bring-up of 500: 630
# -> 590 ms). Until its answer a child is not reaped (not before W), so its PID and start time stay
# its own. Never more than 16 forks late: the default readiness check looks at a process
# "interval" s after procman learns its PID, and a batch of 500 answered after its last fork would
# look at its first half a second late (one that lived 150 ms would fail as dead "at once"). Its
# PID file comes after the answers, once no request waits. The reaping runner (the supervisor's)
# answers each start at once, SIGCHLD still blocked and its PID file written: batched, SIGCHLD would
# have to stay blocked until the answers, and every exit of its children wait behind a slow start.
my $BATCH = 16;
my @answers;
my @deferred;
sub answer_all {
  my $text = '';
  for my $answer (@answers) {
    my ($id, $pid, $pidfile) = @$answer;
    my ($start, $state) = start_of($pid);
    my $written = !defined $pidfile ? '-' : $reap ? pid_file($pidfile, $pid) : 'later';
    $text .= "P $id $pid $start $state $written\n";
    push(@deferred, [$id, $pidfile, $pid]) if $written eq 'later';
  }
  @answers = ();
  print $text;
}
sub handle {
  my $line = shift;
  # Its owner is its parent: reparented means the owner died. Not kill(0): a dead procman that its
  # own parent has not reaped yet is a zombie, and a zombie answers signals.
  exit 0 unless getppid() == $owner;
  my @f = split(/ /, $line, -1);
  my $op = shift @f; my $id = shift @f;
  if ($op eq 'S') {
    my $logfd = shift @f; my $pidfile = shift @f;
    my ($umask, $dir, $argv, $env) = lists(@f);
    # A SIGCHLD handled meanwhile (reaping) cuts a slow open short: it is taken up again.
    my $out;
    do { $out = POSIX::open("/proc/$owner/fd/$logfd", O_WRONLY | O_APPEND) } until defined $out || $! != POSIX::EINTR();
    unless (defined $out) { print "E $id\n"; return }
    # Its exit is reported after its PID: SIGCHLD waits until the answer is written.
    POSIX::sigprocmask(POSIX::SIG_BLOCK(), $chld);
    set_env($env);
    my $pid = fork();
    unless (defined $pid) { POSIX::close($out); POSIX::sigprocmask(POSIX::SIG_SETMASK(), $none); print "E $id\n"; return }
    child($out, $umask, $dir, $argv) if $pid == 0;
    POSIX::close($out);
    push(@answers, [$id, $pid, $pidfile eq '-' ? undef : unhex($pidfile)]);
    answer_all() if $reap || @answers >= $BATCH;
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), $none);
  } elsif ($op eq 'C') {
    my ($umask, $dir, $argv, $env) = lists(@f);
    my $null = POSIX::open('/dev/null', O_WRONLY);
    POSIX::sigprocmask(POSIX::SIG_BLOCK(), $chld);
    set_env($env);
    my $pid = fork();
    unless (defined $pid) { POSIX::close($null) if defined $null; POSIX::sigprocmask(POSIX::SIG_SETMASK(), $none); print "X $id ", 126 << 8, "\n"; return }
    child($null, $umask, $dir, $argv) if $pid == 0;
    POSIX::close($null);
    print "C $id $pid\n";
    $checks{$pid} = $id;
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), $none);
  } elsif ($op eq 'W') {
    my $pid = shift @f;
    my $got = waitpid($pid, 0);
    print "X $id ", ($got == $pid ? $? : 127 << 8), "\n";
  }
}
sub write_deferred {
  my $d = shift(@deferred);
  print "F $d->[0] ", pid_file($d->[1], $d->[2]), "\n";
}
my $buffer = '';
for (;;) {
  while (@answers || @deferred) {
    my $in = '';
    vec($in, 0, 1) = 1;
    last if select(my $ready = $in, undef, undef, 0) > 0;
    if (@answers) { answer_all() } else { write_deferred() }
  }
  my $got = sysread(STDIN, $buffer, 65536, length($buffer));
  unless (defined $got) { next if $! == POSIX::EINTR(); last }
  last if $got == 0;
  while ((my $end = index($buffer, "\n")) >= 0) {
    my $line = substr($buffer, 0, $end + 1, '');
    chop($line);
    handle($line);
  }
}
answer_all() if @answers;
write_deferred() while @deferred;
`;
