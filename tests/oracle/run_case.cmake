# run_case.cmake: one oracle test (cmake -P).
#   -DLTC=lispetorchc -DCHECK=oracle_check -DSCRIPT=case.lsp -DCASE=name
#   -DOUT=file.safetensors -DARGS=k=v,k=v -DRUNFLAGS=f1,f2 [-DSO=model.so]
# Runs the script, saving its global tensors, then the libtorch checker.
# With SO: also compiles the script to SO and has the checker run it.
foreach(v LTC CHECK SCRIPT CASE OUT)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "run_case.cmake: -D${v}=... is required")
  endif()
endforeach()
string(REPLACE "," ";" args "${ARGS}")
string(REPLACE "," ";" runflags "${RUNFLAGS}")
# seed=N among the checker's arguments also sets the run's seed (default 1).
# static=1 compiles with --static (concrete shapes).
set(seed 1)
set(cflags "")
foreach(a ${args})
  if(a MATCHES "^seed=([0-9]+)$")
    set(seed ${CMAKE_MATCH_1})
  elseif(a STREQUAL "static=1")
    set(cflags --static)
  endif()
endforeach()

# A stale file from an earlier run must never be checked.
file(REMOVE ${OUT})

execute_process(
  COMMAND ${LTC} run ${SCRIPT} --save-tensors ${OUT} --seed ${seed} ${runflags}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("$ lispetorchc run ${SCRIPT} --save-tensors ${OUT} --seed ${seed} ${runflags}\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "lispetorchc run failed (exit ${rc})")
endif()
if(NOT EXISTS ${OUT})
  message(FATAL_ERROR "lispetorchc run wrote no ${OUT}")
endif()

# Compiled mode: build the model.so; the checker runs it (see oracle_check.cpp).
if(DEFINED SO AND NOT "${SO}" STREQUAL "")
  # The compiler names parameters by the entry's argument paths, which may
  # differ from the globals' names in OUT: bind the compiler's own weights
  # (same seed, so the same values as the run; a difference would show as
  # a mismatch of the outputs).
  set(W ${SO}.weights.safetensors)
  file(REMOVE ${SO} ${W})
  execute_process(
    COMMAND ${LTC} ${SCRIPT} -o ${SO} --save-weights ${W} --seed ${seed} ${cflags}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("$ lispetorchc ${SCRIPT} -o ${SO} --save-weights ${W} --seed ${seed} ${cflags}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "lispetorchc compile failed (exit ${rc})")
  endif()
  list(APPEND args so=${SO} weights=${W})
endif()

execute_process(
  COMMAND ${CHECK} ${CASE} ${OUT} ${args}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "oracle ${CASE}: mismatch or error (exit ${rc})")
endif()
