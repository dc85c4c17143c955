# install.cmake - temporal-c as a library others install: libtemporal-c.so.<major> (only the
# public functions exported: a version script generated from the public headers) and
# libtemporal-c.a (with the API protos inside), the public headers under include/temporal-c/,
# and temporal-c.pc. Included by temporal/CMakeLists.txt; `cmake --install` uses it.
include(GNUInstallDirs)

# Everything the shared library is made of must be position-independent.
set_target_properties(temporal PROPERTIES POSITION_INDEPENDENT_CODE ON)

file(GLOB TC_PUBLIC_HEADERS "${CMAKE_CURRENT_SOURCE_DIR}/temporal*.h")
list(FILTER TC_PUBLIC_HEADERS EXCLUDE REGEX "_internal\\.h$")

set(TC_EXPORT_MAP "${CMAKE_CURRENT_BINARY_DIR}/temporal-c.map")
add_custom_command(
  OUTPUT "${TC_EXPORT_MAP}"
  COMMAND "${CMAKE_COMMAND}" "-DOUT=${TC_EXPORT_MAP}" "-DHEADERS=${TC_PUBLIC_HEADERS}"
          -P "${CMAKE_CURRENT_SOURCE_DIR}/exports.cmake"
  DEPENDS ${TC_PUBLIC_HEADERS} "${CMAKE_CURRENT_SOURCE_DIR}/exports.cmake"
  COMMENT "temporal-c: export list from the public headers"
  VERBATIM)
add_custom_target(temporal_export_map DEPENDS "${TC_EXPORT_MAP}")

# The same objects as the static target the suite links (no second compile).
add_library(temporal_shared SHARED $<TARGET_OBJECTS:temporal> $<TARGET_OBJECTS:temporal_proto>)
add_dependencies(temporal_shared temporal_export_map)
set_target_properties(temporal_shared PROPERTIES
  OUTPUT_NAME temporal-c
  VERSION "${TC_VERSION}"
  SOVERSION "${TC_VERSION_MAJOR}"
  LINK_DEPENDS "${TC_EXPORT_MAP}")
# --as-needed: only the libraries it calls become dependencies (grpc's pkg-config lists every
# Abseil library).
target_link_options(temporal_shared PRIVATE "LINKER:--version-script=${TC_EXPORT_MAP}"
                    "LINKER:--no-undefined" "LINKER:--as-needed")
target_link_libraries(temporal_shared PRIVATE PkgConfig::GRPC PkgConfig::PROTOBUFC
                      PkgConfig::JANSSON m Threads::Threads)

add_library(temporal_static STATIC $<TARGET_OBJECTS:temporal> $<TARGET_OBJECTS:temporal_proto>)
set_target_properties(temporal_static PROPERTIES OUTPUT_NAME temporal-c)

configure_file("${CMAKE_CURRENT_SOURCE_DIR}/temporal-c.pc.in"
               "${CMAKE_CURRENT_BINARY_DIR}/temporal-c.pc" @ONLY)

install(TARGETS temporal_shared temporal_static
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(FILES ${TC_PUBLIC_HEADERS} DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/temporal-c")
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/temporal-c.pc"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
