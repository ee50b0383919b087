// Imports a file with the UnixFS importer into a discarding sink (what
// `cairn add --only-hash` does) and prints the CID, the time and the throughput; with
// --sha256 it also times plain SHA-256 (OpenSSL) over the same file in the same process,
// the floor the importer's hashing cannot beat.
//
//   add_bench FILE [--repeat N] [--sha256] [--threads N]   (N hashing threads, 0 = per core)
//   add_bench --pattern BYTES      import BYTES of tests/store/js/vectors.mjs's pattern,
//                                  generated in memory (no file needed, any size)
//
// The last line is one JSON object: {"cid", "bytes", "seconds", "mib_per_s", ...}.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "crypto/hash.hpp"
#include "store/importer.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Plain SHA-256 over the file, read the same way the importer reads it.
double time_sha256(const char* path, std::uint64_t& bytes) {
  const auto start = std::chrono::steady_clock::now();
  const int fd = ::open(path, O_RDONLY);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open {}", path));
  cairn::crypto::Hasher hasher(cairn::crypto::HashAlgorithm::sha2_256);
  cairn::Bytes buffer(4 << 20);
  bytes = 0;
  for (;;) {
    const auto n = ::read(fd, buffer.data(), buffer.size());
    if (n <= 0) break;
    hasher.update(cairn::ByteView(buffer.data(), static_cast<std::size_t>(n)));
    bytes += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  (void)hasher.finish();
  return seconds_since(start);
}

// The pattern of tests/store/js/{vectors,pattern}.mjs: byte i = (i*7 ^ i>>11 ^ i>>19) & 0xff.
cairn::Result<cairn::store::ImportedFile> import_pattern(std::uint64_t size) {
  cairn::store::DiscardingSink sink;
  cairn::store::FileImporter importer(sink);
  cairn::Bytes buffer(4 << 20);
  for (std::uint64_t done = 0; done < size;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - done));
    for (std::size_t k = 0; k < n; ++k) {
      const std::uint64_t i = done + k;
      buffer[k] = static_cast<std::byte>(((i * 7) ^ (i >> 11) ^ (i >> 19)) & 0xff);
    }
    CAIRN_TRY(importer.write(cairn::ByteView(buffer.data(), n)));
    done += n;
  }
  return importer.finish();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: add_bench FILE [--repeat N] [--sha256] | --pattern BYTES\n");
    return 2;
  }
  if (std::string(argv[1]) == "--pattern" && argc == 3) {
    const auto size = std::stoull(argv[2]);
    const auto start = std::chrono::steady_clock::now();
    const auto result = import_pattern(size);
    if (!result) {
      std::fprintf(stderr, "add_bench: %s\n", result.error().to_string().c_str());
      return 1;
    }
    std::printf("{\"cid\": \"%s\", \"bytes\": %llu, \"seconds\": %.3f}\n",
                result->cid.to_string().c_str(), static_cast<unsigned long long>(size),
                seconds_since(start));
    return 0;
  }
  const char* path = argv[1];
  int repeat = 1;
  std::size_t threads = 0;
  bool sha = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repeat" && i + 1 < argc) {
      repeat = std::stoi(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::stoul(argv[++i]);
    } else if (arg == "--sha256") {
      sha = true;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  double best = 1e300;
  cairn::store::ImportedFile imported;
  for (int r = 0; r < repeat; ++r) {
    cairn::store::DiscardingSink sink;
    const auto start = std::chrono::steady_clock::now();
    cairn::store::ImportOptions options;
    options.threads = threads;
    auto result = cairn::store::import_file(path, sink, options);
    const double took = seconds_since(start);
    if (!result) {
      std::fprintf(stderr, "add_bench: %s\n", result.error().to_string().c_str());
      return 1;
    }
    imported = *result;
    best = std::min(best, took);
  }
  const double mib = static_cast<double>(imported.size) / (1024.0 * 1024.0);
  std::string extra;
  if (sha) {
    double sha_best = 1e300;
    std::uint64_t bytes = 0;
    for (int r = 0; r < repeat; ++r)
      sha_best = std::min(sha_best, time_sha256(path, bytes));
    extra = fmt::format(", \"sha256_seconds\": {:.3f}, \"sha256_mib_per_s\": {:.1f}", sha_best,
                        static_cast<double>(bytes) / (1024.0 * 1024.0) / sha_best);
    std::printf("openssl sha256: %.3f s, %.1f MiB/s\n", sha_best,
                static_cast<double>(bytes) / (1024.0 * 1024.0) / sha_best);
  }
  std::printf("import: %s %llu bytes in %.3f s, %.1f MiB/s (best of %d)\n",
              imported.cid.to_string().c_str(), static_cast<unsigned long long>(imported.size),
              best, mib / best, repeat);
  std::printf("{\"cid\": \"%s\", \"bytes\": %llu, \"seconds\": %.3f, \"mib_per_s\": %.1f%s}\n",
              imported.cid.to_string().c_str(), static_cast<unsigned long long>(imported.size),
              best, mib / best, extra.c_str());
  return 0;
}
