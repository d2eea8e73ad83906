# Sources that never reach a torch header compile 3-4x faster WITHOUT the
# precompiled torch header (loading the ~570 MB .gch costs more than they
# parse). seer_skip_pch_for_torch_free(<sources>) scans each source's project
# includes recursively and marks the torch-free ones SKIP_PRECOMPILE_HEADERS.
# A wrong guess only changes speed, never correctness.

set(_SEER_INCLUDE_ROOTS ${CMAKE_CURRENT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR}
    ${CMAKE_CURRENT_SOURCE_DIR}/tests)

# Sets ${out} to TRUE when `file` (or a project header it includes) includes torch.
function(_seer_needs_torch file out)
  get_property(known GLOBAL PROPERTY "SEER_TORCH_${file}" SET)
  if(known)
    get_property(v GLOBAL PROPERTY "SEER_TORCH_${file}")
    set(${out} ${v} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY "SEER_TORCH_${file}" FALSE)  # breaks include cycles
  file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include")
  set(result FALSE)
  foreach(line ${lines})
    if(line MATCHES "<(torch|ATen|c10|caffe2)/")
      set(result TRUE)
      break()
    endif()
    if(line MATCHES "[\"<]([^\">]+)[\">]")
      set(inc ${CMAKE_MATCH_1})
      get_filename_component(dir ${file} DIRECTORY)
      foreach(root ${dir} ${_SEER_INCLUDE_ROOTS})
        if(EXISTS ${root}/${inc} AND NOT IS_DIRECTORY ${root}/${inc})
          _seer_needs_torch(${root}/${inc} sub)
          if(sub)
            set(result TRUE)
          endif()
          break()
        endif()
      endforeach()
      if(result)
        break()
      endif()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY "SEER_TORCH_${file}" ${result})
  set(${out} ${result} PARENT_SCOPE)
endfunction()

function(seer_skip_pch_for_torch_free)
  foreach(src ${ARGN})
    _seer_needs_torch(${src} needs)
    if(NOT needs)
      set_source_files_properties(${src} PROPERTIES SKIP_PRECOMPILE_HEADERS ON SKIP_UNITY_BUILD_INCLUSION ON)
    endif()
  endforeach()
endfunction()
