#pragma once
// SHA-256 helpers (OpenSSL EVP). Thread-safe: no shared state.
#include <optional>
#include <string>
#include <string_view>

namespace ctflow {

// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);

// Lower-case hex digest of a file's contents; nullopt if it cannot be read.
std::optional<std::string> sha256_file(const std::string& path);

// Incremental hashing for large or composite inputs.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  std::string hex();  // finishes; call once

 private:
  void* ctx_;
};

}  // namespace ctflow
