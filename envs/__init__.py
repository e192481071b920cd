"""Environments: the sandboxed desktop (one isolated machine per sandbox), observations, actions, tasks, evaluators.

Nothing here imports Qt. Heavy or display-bound modules (pyautogui, gi/Atspi) are imported lazily.
"""
