# static_archive.cmake: cmake -P script making the installed static runtime
# (cmake/runtime_dist.cmake).
#
#   -DCC= -DNM= -DOBJCOPY= -DAR= -DOUT=archive -DOBJECTS=a.o|b.o|...
#   (| separates the objects: a ; would split the -D argument itself)
#
# 1. the objects partially linked into one (CC -r -nostdlib): their
#    references to each other are resolved inside it;
# 2. every global it defines whose name does not start with ltc_ made local
#    (objcopy --keep-global-symbols with the ltc_* names): the internal
#    code keeps its names, they are just not global any more;
# 3. that one object archived (ar).
foreach(v CC NM OBJCOPY AR OUT OBJECTS)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "static_archive.cmake: -D${v}= is missing")
  endif()
endforeach()

string(REPLACE "|" ";" OBJECTS "${OBJECTS}")
get_filename_component(dir ${OUT} DIRECTORY)
file(MAKE_DIRECTORY ${dir})
set(combined ${dir}/ltc_runtime_all.o)
set(keep ${dir}/ltc_runtime_all.keep)

execute_process(COMMAND ${CC} -r -nostdlib -o ${combined} ${OBJECTS} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "static_archive.cmake: the partial link failed (${rc})")
endif()

execute_process(COMMAND ${NM} -g --defined-only ${combined} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "static_archive.cmake: nm failed on ${combined} (${rc})")
endif()
string(REGEX MATCHALL "[ \t]ltc_[A-Za-z0-9_]*" names "${syms}")
set(list "")
foreach(n ${names})
  string(STRIP "${n}" n)
  string(APPEND list "${n}\n")
endforeach()
if(list STREQUAL "")
  message(FATAL_ERROR "static_archive.cmake: no ltc_* symbol in ${combined}")
endif()
file(WRITE ${keep} "${list}")

execute_process(COMMAND ${OBJCOPY} --keep-global-symbols=${keep} ${combined} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "static_archive.cmake: objcopy failed (${rc})")
endif()

file(REMOVE ${OUT})
execute_process(COMMAND ${AR} rcs ${OUT} ${combined} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "static_archive.cmake: ar failed (${rc})")
endif()
