# The churn sample's pipeline parameters (`make demo` includes this file): what only the owner of the
# data knows, which the library never assumes. The suite was built from the sample data with
# `keel suite build DATA --name churn --label churned --unique customer_id`.
CHURN_SUITE    := examples/churn/suite.json
CHURN_TRAINING := --param label=churned --param model_name=churn --param suite_uri=$(CHURN_SUITE) \
	--param 'id_columns=["customer_id"]' --param split_key=customer_id
# Batch scoring validates with the suite recorded with the model and skips its label on its own.
CHURN_SCORING  := --param model_name=churn --param 'id_columns=["customer_id"]'
