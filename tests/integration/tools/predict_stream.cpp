// predict_stream: a stand-in for the predictor in the monitor's acceptance test (issue 21,
// acceptance 4). It runs a deployed version's artifacts (the TorchScript model, the faiss index
// and its labels: the same files and the same code path as the promotion gate) on freshly drawn
// synthetic digits, optionally inverted (the shifted inputs), and prints what a predictor would
// log, plus the ground truth to send later as delayed labels:
//   {"records": [prediction records, POST /api/v1/predictions], "labels": [{"request_id",
//    "label"}], "accuracy": share of correct predictions}
// Usage: predict_stream MODEL INDEX INDEX_LABELS N SEED invert|plain MODEL_NAME VERSION PREFIX
//        START (the first prediction's time; the others follow 100 ms apart)
// Exit 0 on success, 2 on bad arguments or files that cannot be used (one line on stderr).
#include <boost/json.hpp>

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "tasks/data/source.hpp"
#include "tasks/eval/knn.hpp"
#include "tasks/train/embedder.hpp"

namespace json = boost::json;
using namespace ctflow;
using namespace ctflow::tasks;

namespace {

int fail(const std::string& why) {
  std::cerr << "predict_stream: " << why << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 11)
    return fail("usage: MODEL INDEX INDEX_LABELS N SEED invert|plain NAME VERSION PREFIX START");
  auto start = parse_iso8601(argv[10]);
  if (!start) return fail("START: expected an ISO-8601 instant");
  const int64_t n = std::atoll(argv[4]);
  const uint64_t seed = std::strtoull(argv[5], nullptr, 10);
  const bool invert = std::string(argv[6]) == "invert";
  if (n < 1 || n > 100'000) return fail("N: expected 1..100000");
  auto emb = Embedder::load(argv[1]);
  if (!emb) return fail(emb.error());
  auto idx = KnnIndex::read(argv[2]);
  if (!idx) return fail(idx.error());
  std::ifstream lf(argv[3]);
  std::stringstream ss;
  ss << lf.rdbuf();
  std::vector<uint8_t> index_labels;
  int k = 5;
  try {
    auto doc = json::parse(ss.str()).as_object();
    k = static_cast<int>(doc.at("k").to_number<int64_t>());
    for (const auto& v : doc.at("labels").as_array())
      index_labels.push_back(static_cast<uint8_t>(v.to_number<int64_t>()));
  } catch (const std::exception& e) {
    return fail(std::string(argv[3]) + ": " + e.what());
  }
  Dataset d = synthetic_digits(n, seed);
  const int64_t px = d.pixels_per_image();
  std::vector<float> pixels(d.pixels_u8.size());
  for (size_t i = 0; i < pixels.size(); ++i) {
    uint8_t b = invert ? static_cast<uint8_t>(255 - d.pixels_u8[i]) : d.pixels_u8[i];
    pixels[i] = b / 255.0f;
  }
  auto q = (*emb)->embed(pixels.data(), n, d.rows, d.cols);
  if (!q) return fail(q.error());
  std::vector<int64_t> ids;
  std::vector<float> scores;
  (*idx)->search(q->data(), n, k, ids, scores);
  Votes v = knn_vote(ids, scores, index_labels, n, k, (*idx)->inner_product());
  json::array records, labels;
  int64_t correct = 0;
  for (int64_t s = 0; s < n; ++s) {
    // The input summary a predictor logs: mean intensity, share of pixels >= 0.5, and the shares
    // of pixels in 8 intensity bins [0,1/8) ... [7/8,1].
    double mean = 0, ink = 0;
    std::vector<double> hist(8, 0.0);
    for (int64_t i = 0; i < px; ++i) {
      float x = pixels[s * px + i];
      mean += x;
      ink += x >= 0.5f;
      hist[std::min<int>(7, static_cast<int>(x * 8))] += 1.0;
    }
    json::array h;
    for (double c : hist) h.push_back(c / px);
    std::string id = fmt::format("{}{}", argv[9], s);
    records.push_back(
        json::object{{"request_id", id},
                     {"time", format_iso8601(*start + std::chrono::milliseconds(100 * s))},
                     {"model", argv[7]},
                     {"version", std::atoll(argv[8])},
                     {"prediction", v.pred[s]},
                     {"latency_ms", 1.0},
                     {"summary", {{"mean", mean / px}, {"ink", ink / px}, {"hist", h}}}});
    labels.push_back(json::object{{"request_id", id}, {"label", d.labels[s]}});
    correct += v.pred[s] == d.labels[s];
  }
  std::cout << json::serialize(json::object{{"records", std::move(records)},
                                            {"labels", std::move(labels)},
                                            {"accuracy", double(correct) / double(n)}})
            << "\n";
  return 0;
}
