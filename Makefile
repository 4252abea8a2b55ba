# `sam build` runs these targets (template.yaml: Metadata BuildMethod: makefile) with ARTIFACTS_DIR set; CI runs
# them too, so the deployed build is the one that is tested.
PUBLISH = dotnet publish -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -nologo

.PHONY: build-PortalFunction build-SubscriptionEventsFunction

build-PortalFunction:
	$(PUBLISH) functions/Portal/Portal.csproj -o "$(ARTIFACTS_DIR)"

build-SubscriptionEventsFunction:
	$(PUBLISH) functions/SubscriptionEvents/SubscriptionEvents.csproj -o "$(ARTIFACTS_DIR)"
