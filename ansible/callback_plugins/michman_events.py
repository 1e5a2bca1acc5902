# Michman's stdout callback: one JSON object per line, so the deployer (src/deploy/ansible) turns
# every task result into an operation event per host and a failure into an error naming host, role
# and task. Lines:
#   {"event": "play", "play": ...}
#   {"event": "task", "play", "role", "task", "handler": bool}   (a task or handler starts)
#   {"event": "result", "host", "play", "role", "task", "action", "status": ok|changed|failed|unreachable|skipped,
#    "ignored": bool, "msg": excerpt}
#   {"event": "stats", "hosts": {host: {ok, changed, failures, unreachable, skipped, rescued, ignored}}}
# Results of tasks marked no_log carry no message. Nothing else is printed on stdout.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
    name: michman_events
    type: stdout
    short_description: JSON lines of task results for Michman
    description:
      - Prints one JSON object per task result per host, and a final stats line.
'''

import json
import sys

from ansible.plugins.callback import CallbackBase

MSG_LIMIT = 2000


def _text(value):
    if value is None:
        return ''
    if isinstance(value, (list, tuple)):
        return '\n'.join(_text(v) for v in value)
    if isinstance(value, dict):
        try:
            return json.dumps(value, default=str, sort_keys=True)
        except Exception:
            return str(value)
    return str(value)


def _tail(text, limit):
    text = text.strip()
    return text if len(text) <= limit else '...' + text[-limit:]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'michman_events'

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._play = ''

    def _emit(self, obj):
        sys.stdout.write(json.dumps(obj, default=str, sort_keys=True) + '\n')
        sys.stdout.flush()

    def _excerpt(self, result, status):
        r = result._result or {}
        if r.get('_ansible_no_log') or getattr(result._task, 'no_log', False):
            return 'output hidden (no_log)'
        parts = []
        for key in ('msg', 'reason', 'exception', 'module_stderr', 'stderr'):
            if r.get(key):
                parts.append(_text(r.get(key)))
        if status == 'failed' and r.get('stdout') and not r.get('stderr'):
            parts.append(_tail(_text(r.get('stdout')), 800))
        # Loops: the failed items' messages.
        if status == 'failed' and isinstance(r.get('results'), list):
            for item in r['results']:
                if isinstance(item, dict) and item.get('failed'):
                    m = item.get('msg') or item.get('stderr') or ''
                    if m:
                        parts.append(_text(m))
        return _tail('\n'.join(p for p in parts if p), MSG_LIMIT)

    @staticmethod
    def _names(task):
        role = ''
        if getattr(task, '_role', None) is not None:
            role = task._role.get_name()
        name = task.get_name()
        # get_name() prefixes role tasks with "<role> : "; the role has a field of its own.
        if role and name.startswith(role + ' : '):
            name = name[len(role) + 3:]
        return role, name

    def _start(self, task, handler):
        # So that a task that hangs (an apt download, a service that never answers) is named in the
        # operation's events while it runs, not only once it ends.
        role, name = self._names(task)
        self._emit({'event': 'task', 'play': self._play, 'role': role, 'task': name, 'handler': handler})

    def _result(self, result, status, ignored=False):
        task = result._task
        role, name = self._names(task)
        if status == 'ok' and (result._result or {}).get('changed'):
            status = 'changed'
        self._emit({
            'event': 'result',
            'host': result._host.get_name(),
            'play': self._play,
            'role': role,
            'task': name,
            'action': task.action,
            'status': status,
            'ignored': bool(ignored),
            'msg': self._excerpt(result, status),
        })

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()
        self._emit({'event': 'play', 'play': self._play})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task, False)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task, True)

    def v2_playbook_on_no_hosts_matched(self):
        self._emit({'event': 'no_hosts', 'play': self._play})

    def v2_runner_on_ok(self, result):
        self._result(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, 'failed', ignored=ignore_errors)

    def v2_runner_on_unreachable(self, result):
        # ignore_unreachable (remove.yml on nodes that may already be gone) is the play's choice.
        self._result(result, 'unreachable', ignored=bool(getattr(result._task, 'ignore_unreachable', False)))

    def v2_runner_on_skipped(self, result):
        self._result(result, 'skipped')

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for h in sorted(stats.processed.keys()):
            hosts[h] = stats.summarize(h)
        self._emit({'event': 'stats', 'hosts': hosts})

    # Warnings and deprecations go to stderr as usual (the deployer keeps stderr's tail).
