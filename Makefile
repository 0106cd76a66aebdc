.PHONY: generate

# generate recreates generated code (ONNX protobuf bindings, ...).
generate:
	go generate ./ir/onnx/onnxpb

# --- ONNX models and the onnxruntime oracle (testdata/models, testdata/ort) ---

PYTHON ?= /usr/bin/python3
MODELS_DIR ?= build/models
ORT_DIR := testdata/ort
ORT_STAMP := $(ORT_DIR)/node_modules/onnxruntime-node/package.json

.PHONY: models fixtures golden check-models ort-deps

# Full-size models (not committed) into $(MODELS_DIR); existing ones are kept unless FORCE=1.
models:
	$(PYTHON) testdata/models/export.py full $(MODELS_DIR) $(if $(filter-out 0,$(FORCE)),--force)

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
