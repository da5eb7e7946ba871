# Dynamic sizes: a model.so compiled from a script is run through the
# runtime at sizes other than the traced ones and compared with the
# reference interpreter on the traced graph at the same sizes
# (so_check.c).  Scripts in inputs/dyn_*.lsp.
add_executable(ltc_so_check ${CMAKE_CURRENT_SOURCE_DIR}/so_check.c)
target_link_libraries(ltc_so_check PRIVATE ltc_frontend ltc_runtime)
target_include_directories(ltc_so_check PRIVATE ${CMAKE_SOURCE_DIR}/runtime/include)

# ltc_so_test(NAME SCRIPT SIZES...): each SIZES item is "S=5,B=3" (symbol
# values; "traced" keeps the traced ones) or "refuse:S=7:TEXT", sizes the
# model must refuse with a message containing TEXT.
# An item "opts:TEXT" adds TEXT to the compile and check command lines.
function(ltc_so_test name script)
  set(w ${LTC_E2E_WORK}/so_${name})
  set(opts "")
  foreach(sz ${ARGN})
    if(sz MATCHES "^opts:(.*)$")
      set(opts "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  set(cmd "mkdir -p ${w} && cd ${w} && rm -f model.so && ${LTC} ${LTC_E2E_IN}/${script} ${opts} -o model.so 2>compile.err")
  foreach(sz ${ARGN})
    if(sz MATCHES "^opts:")
      continue()
    endif()
    if(sz MATCHES "^refuse:([^:]*):(.*)$")
      string(REPLACE "," " " syms "${CMAKE_MATCH_1}")
      set(cmd "${cmd} && $<TARGET_FILE:ltc_so_check> ${LTC_E2E_IN}/${script} model.so ${syms} ${opts} --refuse '${CMAKE_MATCH_2}'")
    elseif(sz STREQUAL "traced")
      set(cmd "${cmd} && $<TARGET_FILE:ltc_so_check> ${LTC_E2E_IN}/${script} model.so ${opts}")
    else()
      string(REPLACE "," " " syms "${sz}")
      set(cmd "${cmd} && $<TARGET_FILE:ltc_so_check> ${LTC_E2E_IN}/${script} model.so ${syms} ${opts}")
    endif()
  endforeach()
  add_test(NAME e2e_so_${name} COMMAND bash -c "${cmd} || { cat ${w}/compile.err; exit 1; }")
  set_tests_properties(e2e_so_${name} PROPERTIES TIMEOUT 300)
endfunction()

ltc_so_test(sym_arith dyn_sym_arith.lsp traced S=6 S=22,B=3 S=2,B=1 "refuse:S=7:not a whole number")
ltc_so_test(masks dyn_masks.lsp traced S=5 S=33,B=3 S=1 S=40 "refuse:S=41:S <= 40")
ltc_so_test(guard dyn_guard.lsp traced S=40 S=1 S=64 "refuse:S=70:S <= 64" "refuse:S=101:S <= 100")
ltc_so_test(equal dyn_equal.lsp traced "refuse:S=13:specialised to S = 12")

# The driver reports every specialisation as a warning at its line.
ltc_cli_test(guard_warning --stderr "dyn_guard.lsp:8:9: warning: entry 'f' is specialised to S <= 100"
             --stderr "dyn_guard.lsp:10:13: warning: entry 'f' is specialised to S <= 64"
             -- ${LTC} ${LTC_E2E_IN}/dyn_guard.lsp --emit ir)
ltc_cli_test(sym_arith_ir --stdout "symbols B=2 S=16 (S-1)=15 S/2=8" --stdout "slice %0 {axis=1, start=(S-1), end=S, step=1}"
             -- ${LTC} ${LTC_E2E_IN}/dyn_sym_arith.lsp --emit ir)
# Attention probabilities [B,H,S,S] as an output (materialised, S^2 sizes);
# a float [B,H,S,S] mask input traces with a constant last dim and is
# specialised to the traced S with a warning (see docs/torch_api.md).
ltc_so_test(probs dyn_probs.lsp traced "refuse:S=3:specialised to S = 10")
ltc_so_test(probs_dynamic dyn_probs.lsp "opts:--dynamic m2:3" traced S=3 S=17,B=1)
ltc_cli_test(dynamic_bad --exit 2 --stderr "invalid value 'm2' for --dynamic" -- ${LTC} ${LTC_E2E_IN}/dyn_probs.lsp --dynamic m2 --emit ir)
ltc_cli_test(dynamic_unknown --exit 1 --stderr "--dynamic: entry 'attn' has no tensor input 'm3'"
             -- ${LTC} ${LTC_E2E_IN}/dyn_probs.lsp --dynamic m3:3 --emit ir)
# Causal masks built in the forward become the kernel's causal flag.
ltc_cli_test(causal_mask_fused --stdout "causal: sdpa %21: mask %20 is causal"
             --stdout "causal: sdpa %26: mask %25 is causal"
             -- ${LTC} ${LTC_E2E_IN}/dyn_masks.lsp --emit fusion)
# A BERT-style encoder with globals in its reshapes, position ids, a
# padding mask, [CLS] by select and next-token logits from 0..S-2.
ltc_so_test(encoder dyn_encoder.lsp traced S=5 S=33,B=3 S=1 S=64 "refuse:S=65:S <= 64")
# A Llama-style GQA block (8/2 heads, repeat_kv, causal mask built in the
# forward, global sizes in reshapes) compiled once and run at other sizes.
ltc_so_test(llama_gqa dyn_llama_gqa.lsp traced S=5 S=31,B=3 S=1)
ltc_cli_test(llama_gqa_fused --stdout "causal: sdpa" --stdout "-> head group 4, no copy"
             -- ${LTC} ${LTC_E2E_IN}/dyn_llama_gqa.lsp --emit fusion)
