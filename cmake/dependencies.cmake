# Every dependency comes from Debian (scripts/setup installs them); see DESIGN.md.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(fmt REQUIRED)
if(CAIRN_FUZZ)
  # libfmt.so is built against libstdc++; the libc++ fuzz build uses fmt header-only.
  set(CAIRN_FMT fmt::fmt-header-only)
else()
  set(CAIRN_FMT fmt::fmt)
endif()
find_package(nlohmann_json 3 REQUIRED)

pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(SECP256K1 REQUIRED IMPORTED_TARGET libsecp256k1)
pkg_check_modules(GMP REQUIRED IMPORTED_TARGET gmp)

find_path(ROCKSDB_INCLUDE_DIR rocksdb/db.h REQUIRED)
find_library(ROCKSDB_LIBRARY rocksdb REQUIRED)
add_library(cairn_rocksdb INTERFACE)
target_include_directories(cairn_rocksdb INTERFACE ${ROCKSDB_INCLUDE_DIR})
target_link_libraries(cairn_rocksdb INTERFACE ${ROCKSDB_LIBRARY})

# cpp-httplib: Debian ships a compiled library with OpenSSL support.
find_path(HTTPLIB_INCLUDE_DIR httplib.h REQUIRED)
find_library(HTTPLIB_LIBRARY cpp-httplib REQUIRED)
add_library(cairn_httplib INTERFACE)
target_include_directories(cairn_httplib INTERFACE ${HTTPLIB_INCLUDE_DIR})
target_link_libraries(cairn_httplib INTERFACE ${HTTPLIB_LIBRARY} OpenSSL::SSL OpenSSL::Crypto
                                              Threads::Threads)
target_compile_definitions(cairn_httplib INTERFACE CPPHTTPLIB_OPENSSL_SUPPORT)

if("learn" IN_LIST CAIRN_MODULES AND NOT CAIRN_FUZZ)
  find_package(Torch REQUIRED)
endif()

if(NOT CAIRN_FUZZ)
  find_package(GTest REQUIRED)
  find_package(benchmark QUIET)
endif()
