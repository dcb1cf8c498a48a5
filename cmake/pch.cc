// Translation unit that carries the shared precompiled header (see SabotTargets.cmake).
