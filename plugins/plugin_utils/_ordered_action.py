# Copyright (c) 2026, stackato.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugin of a module with the option ``order`` (kato_upgrade, kato_role): without it the module
runs as without an action plugin; with it the node's call first waits on the controller, in the run's barrier
(``_order.Barrier``), until the nodes it follows are done, runs the module, and records how it ended."""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

from ansible_collections.stackato.cluster.plugins.plugin_utils import _order


class OrderedModuleAction(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def _module(self, args, task_vars, wrap_async):
        result = self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        if not wrap_async:
            # the module's temporary directory on the node (async jobs remove their own)
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        host = task_vars.get("inventory_hostname", "?")
        args = dict(self._task.args)
        order = args.pop("order", None)
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        if order is None:
            result.update(self._module(args, task_vars, wrap_async))
            return result

        checked = ArgumentSpecValidator(_order.ORDER_SPEC).validate(order if isinstance(order, dict) else {})
        if not isinstance(order, dict) or checked.error_messages:
            why = ("; ".join(("unknown key " if isinstance(error, UnsupportedError) else "") + str(error)
                             for error in checked.errors)
                   if isinstance(order, dict) else f"it is a {type(order).__name__}")
            result.update(failed=True, msg=f"{host}: option order {order!r} is not valid ({why}): give a dict with dir, "
                                           "name and after (see the module's documentation)")
            return result
        if self._task.async_val:
            result.update(failed=True, msg=f"{host}: option order cannot be combined with async "
                                           f"(async={self._task.async_val}): the next node would start before this one "
                                           "ended; run without async, or without order")
            return result
        order = checked.validated_parameters
        name = order["name"]
        try:
            barrier = _order.Barrier(order["dir"])
        except _order.OrderError as exc:
            result.update(failed=True, msg=f"{host}: {exc}; nothing was started on this node")
            return result

        state = _order.STOPPED
        try:
            try:
                verdict, why, waited = barrier.wait(name, order["after"], order["timeout"])
            except _order.OrderError as exc:
                state = _order.FAILED
                result.update(failed=True, msg=f"{host}: {exc}; nothing was started on this node")
                return result
            result.update(order_after=order["after"], order_waited=round(waited, 3))
            if verdict != "go":
                result.update(skipped=True, not_started=True, changed=False,
                              skip_reason=f"not started: {why}", msg=f"{name} was not started: {why}")
                return result
            if not order["run"]:
                state = _order.DONE
                result.update(skipped=True, changed=False, skip_reason="nothing to do on this node",
                              msg=f"{name}: nothing to do (the nodes before it are done)")
                return result
            state = _order.FAILED
            outcome = self._module(args, task_vars, wrap_async=False)
            if not (outcome.get("failed") or outcome.get("unreachable")):
                state = _order.DONE
            result.update(outcome)
            return result
        finally:
            # however the call ended (an exception, the connection lost): the nodes after it must not wait forever
            barrier.finish(name, state, str(result.get("msg", "")) if state == _order.FAILED else "")
