#include "scheduler/hpo/space.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ctflow::hpo {

std::string shown_key(std::string_view key) {
  bool plain = std::none_of(key.begin(), key.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (plain && !key.empty()) return std::string(key);
  return boost::json::serialize(boost::json::string(key));
}

namespace json = boost::json;

namespace {

std::optional<double> as_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

bool is_integral(double x) {
  return std::isfinite(x) && std::floor(x) == x &&
         std::fabs(x) <= 9007199254740992.0;  // 2^53: exact in a double
}

std::string num(double x) {
  return fmt::format("{}", x);
}

const char* type_name(DimType t) {
  switch (t) {
    case DimType::Float:
      return "float";
    case DimType::Int:
      return "int";
    case DimType::Categorical:
      return "categorical";
  }
  return "?";
}

// Number of lattice points of a min/max/step dimension.
uint64_t lattice_size(const Dimension& d) {
  return static_cast<uint64_t>(std::floor((d.max - d.min) / *d.step + 1e-9)) + 1;
}

bool numbers_equal(double a, double b) {
  return a == b || std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b));
}

// [A-Za-z_][A-Za-z0-9_-]*: usable in templates ({{trial.NAME}}) and as a JSON key in paths.
bool valid_name(const std::string& n) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (n.empty() || !alpha(n[0])) return false;
  for (char c : n)
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '-') return false;
  return true;
}

void parse_dim(const std::string& name, const json::value& v, const std::string& p,
               std::vector<std::string>& errors, std::vector<Dimension>& out) {
  size_t before = errors.size();
  auto err = [&](const std::string& field, const std::string& why) {
    errors.push_back(p + (field.empty() ? "" : "." + field) + ": " + why);
  };
  if (!valid_name(name)) err("", "name must match [A-Za-z_][A-Za-z0-9_-]*");
  if (!v.is_object()) return err("", "must be an object with a \"type\"");
  const auto& o = v.get_object();
  for (const auto& kv : o) {
    std::string k(kv.key());
    if (k != "type" && k != "min" && k != "max" && k != "log" && k != "step" && k != "values")
      err(shown_key(k), "unknown field (expected type, min, max, log, step, values)");
  }
  Dimension d;
  d.name = name;
  const json::value* t = o.if_contains("type");
  std::string ts = t && t->is_string() ? std::string(t->get_string()) : "";
  if (ts == "float")
    d.type = DimType::Float;
  else if (ts == "int")
    d.type = DimType::Int;
  else if (ts == "categorical")
    d.type = DimType::Categorical;
  else
    return err("type", t ? "must be one of float, int, categorical"
                         : "required (one of float, int, categorical)");

  if (const json::value* lv = o.if_contains("log")) {
    if (!lv->is_bool())
      err("log", "must be true or false");
    else
      d.log = lv->get_bool();
  }
  const json::value* values = o.if_contains("values");
  if (d.type == DimType::Categorical || values) {
    for (const char* f : {"min", "max", "step"})
      if (o.contains(f))
        err(f, fmt::format("not allowed with {}", values ? "values" : "categorical"));
    if (d.log) err("log", "not allowed with values");
    if (!values) return err("values", "required for a categorical parameter");
    if (!values->is_array() || values->get_array().empty())
      return err("values", "must be a non-empty array");
    const auto& arr = values->get_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      std::string vp = fmt::format("values[{}]", i);
      if (d.type != DimType::Categorical) {
        auto x = as_number(arr[i]);
        if (!x) {
          err(vp, "must be a number");
          continue;
        }
        if (d.type == DimType::Int && !is_integral(*x)) {
          err(vp, "must be an integer");
          continue;
        }
        for (const auto& prev : d.values)
          if (numbers_equal(*as_number(prev), *x)) err(vp, "duplicate value");
      } else {
        if (arr[i].is_object() || arr[i].is_array()) {
          err(vp, "must be a string, number, bool or null");
          continue;
        }
        for (const auto& prev : d.values)
          if (prev == arr[i]) err(vp, "duplicate value");
      }
      d.values.push_back(arr[i]);
    }
    if (d.type != DimType::Categorical && errors.size() == before)
      std::sort(d.values.begin(), d.values.end(), [](const json::value& a, const json::value& b) {
        return *as_number(a) < *as_number(b);
      });
  } else {
    std::optional<double> mn, mx;
    for (const char* f : {"min", "max"}) {
      const json::value* x = o.if_contains(f);
      auto n = x ? as_number(*x) : std::nullopt;
      if (!x)
        err(f, fmt::format("required for a {} parameter without values", type_name(d.type)));
      else if (!n || !std::isfinite(*n))
        err(f, "must be a number");
      else if (d.type == DimType::Int && !is_integral(*n))
        err(f, "must be an integer");
      else
        (f[1] == 'i' ? mn : mx) = n;
    }
    if (mn && mx) {
      d.min = *mn;
      d.max = *mx;
      if (d.min > d.max)
        err("min", fmt::format("must be <= max (got {} > {})", num(d.min), num(d.max)));
      if (d.log && d.min <= 0) err("min", "must be > 0 when log is true");
    }
    if (const json::value* sv = o.if_contains("step")) {
      auto s = as_number(*sv);
      if (!s || !(*s > 0))
        err("step", "must be a number > 0");
      else if (d.type == DimType::Int && !is_integral(*s))
        err("step", "must be an integer");
      else
        d.step = *s;
    }
    if (d.type == DimType::Int && !d.step) d.step = 1;
    // Lattice indexes must stay exact in a double.
    if (d.step && mn && mx && d.max >= d.min && (d.max - d.min) / *d.step > 1e15)
      err(o.contains("step") ? "step" : "max", "more than 1e15 values between min and max");
  }
  if (errors.size() == before) out.push_back(std::move(d));
}

}  // namespace

std::optional<SearchSpace> parse_space(const json::value& v, const std::string& path,
                                       std::vector<std::string>& errors) {
  size_t before = errors.size();
  if (!v.is_object()) {
    errors.push_back(path + ": must be an object mapping parameter names to definitions");
    return std::nullopt;
  }
  const auto& o = v.get_object();
  if (o.empty()) {
    errors.push_back(path + ": must define at least one parameter");
    return std::nullopt;
  }
  if (o.size() > kMaxDims) {
    errors.push_back(fmt::format("{}: at most {} parameters (got {})", path, kMaxDims, o.size()));
    return std::nullopt;
  }
  SearchSpace s;
  for (const auto& kv : o) {
    std::string name(kv.key());
    parse_dim(name, kv.value(), path + "." + shown_key(name), errors, s.dims);
  }
  if (errors.size() != before) return std::nullopt;
  std::sort(s.dims.begin(), s.dims.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return s;
}

std::optional<uint64_t> cardinality(const Dimension& d) {
  if (!d.values.empty()) return d.values.size();
  if (d.step) return lattice_size(d);
  return std::nullopt;
}

json::value discrete_value(const Dimension& d, uint64_t i) {
  if (!d.values.empty()) return d.values[std::min<uint64_t>(i, d.values.size() - 1)];
  i = std::min(i, lattice_size(d) - 1);
  double x = std::min(d.max, d.min + static_cast<double>(i) * *d.step);
  if (d.type == DimType::Int) return static_cast<int64_t>(std::llround(x));
  return x;
}

namespace {
// The lattice index nearest to x (log lattices snap in value space).
uint64_t nearest_index(const Dimension& d, double x) {
  double i = std::round((x - d.min) / *d.step);
  return static_cast<uint64_t>(std::clamp(i, 0.0, static_cast<double>(lattice_size(d) - 1)));
}
double log_coord(const Dimension& d, double x) {
  double lo = std::log(d.min), hi = std::log(d.max);
  return hi > lo ? std::clamp((std::log(x) - lo) / (hi - lo), 0.0, 1.0) : 0.5;
}
}  // namespace

std::optional<uint64_t> index_of(const Dimension& d, const json::value& v) {
  if (d.type == DimType::Categorical) {
    for (size_t i = 0; i < d.values.size(); ++i)
      if (d.values[i] == v) return i;
    return std::nullopt;
  }
  auto x = as_number(v);
  if (!x || !cardinality(d)) return std::nullopt;
  if (!d.values.empty()) {
    for (size_t i = 0; i < d.values.size(); ++i)
      if (numbers_equal(*as_number(d.values[i]), *x)) return i;
    return std::nullopt;
  }
  if (*x < d.min - *d.step * 1e-9 || *x > d.max + *d.step * 1e-9) return std::nullopt;
  uint64_t i = nearest_index(d, *x);
  double at = d.min + static_cast<double>(i) * *d.step;
  if (std::fabs(at - *x) > 1e-9 * std::max({1.0, std::fabs(at), *d.step})) return std::nullopt;
  return i;
}

json::value decode(const Dimension& d, double u) {
  u = std::isfinite(u) ? std::clamp(u, 0.0, 1.0) : 0.5;
  if (d.log && d.values.empty()) {
    double x = std::exp(std::log(d.min) + u * (std::log(d.max) - std::log(d.min)));
    x = std::clamp(x, d.min, d.max);
    if (d.step) return discrete_value(d, nearest_index(d, x));
    return x;
  }
  if (auto n = cardinality(d)) {
    auto i = static_cast<uint64_t>(u * static_cast<double>(*n));
    return discrete_value(d, std::min(i, *n - 1));
  }
  return std::clamp(d.min + u * (d.max - d.min), d.min, d.max);
}

std::optional<double> encode(const Dimension& d, const json::value& v, std::string& why) {
  auto slice = [](uint64_t i, uint64_t n) {
    return (static_cast<double>(i) + 0.5) / static_cast<double>(n);
  };
  if (d.type == DimType::Categorical) {
    for (size_t i = 0; i < d.values.size(); ++i)
      if (d.values[i] == v) return slice(i, d.values.size());
    why = fmt::format("{} is not one of the values", json::serialize(v));
    return std::nullopt;
  }
  auto x = as_number(v);
  if (!x) {
    why = fmt::format("must be a number (got {})", json::serialize(v));
    return std::nullopt;
  }
  if (d.type == DimType::Int && !is_integral(*x)) {
    why = fmt::format("must be an integer (got {})", num(*x));
    return std::nullopt;
  }
  if (!d.values.empty()) {
    for (size_t i = 0; i < d.values.size(); ++i)
      if (numbers_equal(*as_number(d.values[i]), *x)) return slice(i, d.values.size());
    why = fmt::format("{} is not one of the values", num(*x));
    return std::nullopt;
  }
  double tol = 1e-9 * std::max({1.0, std::fabs(d.min), std::fabs(d.max)});
  if (*x < d.min - tol || *x > d.max + tol) {
    why = fmt::format("{} is outside [{}, {}]", num(*x), num(d.min), num(d.max));
    return std::nullopt;
  }
  double xc = std::clamp(*x, d.min, d.max);
  if (d.log) return log_coord(d, xc);
  if (d.step) return slice(nearest_index(d, xc), lattice_size(d));
  return d.max > d.min ? (xc - d.min) / (d.max - d.min) : 0.5;
}

double snap(const Dimension& d, double u) {
  if (!cardinality(d)) return std::isfinite(u) ? std::clamp(u, 0.0, 1.0) : 0.5;
  std::string why;
  return *encode(d, decode(d, u), why);
}

json::object decode_point(const SearchSpace& s, const UnitPoint& u) {
  json::object o;
  for (size_t i = 0; i < s.dims.size(); ++i) o[s.dims[i].name] = decode(s.dims[i], u[i]);
  return o;
}

std::optional<UnitPoint> encode_point(const SearchSpace& s, const json::value& params,
                                      const std::string& path, std::string& error) {
  if (!params.is_object()) {
    error = path + ": must be an object";
    return std::nullopt;
  }
  const auto& o = params.get_object();
  for (const auto& kv : o) {
    bool known = std::any_of(s.dims.begin(), s.dims.end(),
                             [&](const Dimension& d) { return d.name == kv.key(); });
    if (!known) {
      error = fmt::format("{}.{}: not a parameter of the space", path, shown_key(kv.key()));
      return std::nullopt;
    }
  }
  UnitPoint u;
  for (const auto& d : s.dims) {
    const json::value* v = o.if_contains(d.name);
    if (!v) {
      error = fmt::format("{}.{}: missing", path, d.name);
      return std::nullopt;
    }
    std::string why;
    auto c = encode(d, *v, why);
    if (!c) {
      error = fmt::format("{}.{}: {}", path, d.name, why);
      return std::nullopt;
    }
    u.push_back(*c);
  }
  return u;
}

}  // namespace ctflow::hpo
