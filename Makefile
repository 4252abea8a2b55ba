# `sam build` runs these targets (template.yaml: Metadata BuildMethod: makefile) with ARTIFACTS_DIR set; CI runs
# them too, so the deployed build is the one that is tested.
PUBLISH = dotnet publish -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -nologo

.PHONY: build-PortalFunction build-SubscriptionEventsFunction build-UsageReporterFunction build-KeyMintingFunction build-EmptyFunction build-EmptyWebApp

build-PortalFunction:
	$(PUBLISH) functions/Portal/Portal.csproj -o "$(ARTIFACTS_DIR)"

build-SubscriptionEventsFunction:
	$(PUBLISH) functions/SubscriptionEvents/SubscriptionEvents.csproj -o "$(ARTIFACTS_DIR)"

# Start-up baselines for the benchmark (tests/Benchmarks --startup): empty programs published exactly like the functions.
build-EmptyFunction:
	$(PUBLISH) tests/StartupBaselines/EmptyFunction/EmptyFunction.csproj -o "$(ARTIFACTS_DIR)"

build-EmptyWebApp:
	$(PUBLISH) tests/StartupBaselines/EmptyWebApp/EmptyWebApp.csproj -o "$(ARTIFACTS_DIR)"

build-UsageReporterFunction:
	$(PUBLISH) functions/UsageReporter/UsageReporter.csproj -o "$(ARTIFACTS_DIR)"

# The key minting function is the usage reporter's program on another trigger (the key minting queue).
build-KeyMintingFunction:
	$(PUBLISH) functions/UsageReporter/UsageReporter.csproj -o "$(ARTIFACTS_DIR)"
