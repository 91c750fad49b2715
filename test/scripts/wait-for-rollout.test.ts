/**
 * scripts/deploy/wait-for-rollout.sh with `aws` and `kubectl` replaced by stubs that record their
 * arguments and answer like a cluster whose rollouts succeed or exceed their progress deadline.
 * They prove which Deployments the script waits for, how, all at once, and how it reports the
 * unhealthy ones; not that a real cluster rolls out.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve(__dirname, '../../scripts/deploy/wait-for-rollout.sh');

const KUBECTL = `
case "$1 $2" in
  "get deployments") for app in $APPS; do echo "$app"; done ;;
  "rollout status")
    name="\${3#deployment/}"
    touch "$MARKS/$name.started"
    # WAIT_FOR=a:b makes a's rollout end only once b's has started: only a concurrent wait passes.
    if [ "\${WAIT_FOR%%:*}" = "$name" ]; then
      for _ in $(seq 600); do [ -e "$MARKS/\${WAIT_FOR#*:}.started" ] && break; sleep 0.1; done
      [ -e "$MARKS/\${WAIT_FOR#*:}.started" ] || { echo "waited alone" >&2; exit 3; }
    fi
    case " $UNHEALTHY " in
      *" $name "*) echo "error: deployment \\"$name\\" exceeded its progress deadline" >&2; exit 1 ;;
    esac
    echo "deployment \\"$name\\" successfully rolled out" ;;
  "get pods") echo "pods of $6" ;;
  "get events") echo "events in $4" ;;
esac`;

function cluster(env: { APPS: string; UNHEALTHY?: string; WAIT_FOR?: string; ROLLOUT_TIMEOUT?: string }, args = ['sdp-dev']) {
  const dir = mkdtempSync(join(tmpdir(), 'wait-for-rollout-'));
  const bin = join(dir, 'bin');
  const marks = join(dir, 'marks');
  const calls = join(dir, 'calls.log');
  mkdirSync(bin);
  mkdirSync(marks);
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> "${calls}"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub('aws', 'exit 0');
  stub('kubectl', KUBECTL);
  const res = spawnSync('bash', [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, MARKS: marks, UNHEALTHY: '', WAIT_FOR: '', ...env },
  });
  return { ...res, calls: existsSync(calls) ? readFileSync(calls, 'utf8').split('\n') : [] };
}

describe('wait-for-rollout.sh', () => {
  it("waits for every labelled app Deployment in its namespace, with a kubeconfig of the cluster's own", () => {
    const res = cluster({ APPS: 'producer/producer processor/processor' });
    expect(res.stdout).toContain('all 2 app Deployments of sdp-dev are rolled out');
    expect(res.status).toBe(0);
    expect(res.calls).toEqual(expect.arrayContaining([expect.stringMatching(/^aws eks update-kubeconfig --name sdp-dev --kubeconfig \/\S+\/kubeconfig$/)]));
    expect(res.calls).toContain(
      'kubectl get deployments --all-namespaces -l app.kubernetes.io/part-of=streaming-data-platform -o jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}',
    );
    expect(res.calls).toContain('kubectl rollout status deployment/producer --namespace producer --timeout=20m');
    expect(res.calls).toContain('kubectl rollout status deployment/processor --namespace processor --timeout=20m');
    expect(res.stdout).toContain('rolled out: producer/producer');
  });

  it('waits for all rollouts at once', () => {
    // The first app's rollout ends only after the second one's has started.
    const res = cluster({ APPS: 'a/first b/second', WAIT_FOR: 'first:second' });
    expect(res.stderr).not.toContain('waited alone');
    expect(res.status).toBe(0);
  });

  it('fails naming every app that did not become healthy, with its pods and events, after waiting for the rest', () => {
    const res = cluster({ APPS: 'a/first b/second c/third', UNHEALTHY: 'first third', ROLLOUT_TIMEOUT: '7m' });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/did not become healthy within the progress deadline or 7m: a\/first c\/third$/m);
    expect(res.stdout).toContain('rolled out: b/second');
    expect(res.stdout).toContain('error: deployment "first" exceeded its progress deadline');
    expect(res.stdout).toContain('pods of app.kubernetes.io/name=third');
    expect(res.calls).toContain('kubectl rollout status deployment/second --namespace b --timeout=7m');
  });

  it('fails when the cluster has no app Deployments, rather than passing on nothing', () => {
    const res = cluster({ APPS: '' });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('no Deployments labelled app.kubernetes.io/part-of=streaming-data-platform in cluster sdp-dev');
  });

  it('needs the cluster name', () => {
    const res = cluster({ APPS: 'a/first' }, []);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('usage: scripts/deploy/wait-for-rollout.sh <cluster-name>');
  });
});
