"""Every write of the desk, one function per action: `<entity>_<action>(*, ..., actor)`.

Views, serializers, commands and tasks call these; they never save models themselves.
"""
