# terraform apply -var-file=staging.tfvars -var vigil_layer_arn=<your layer version ARN>
stage      = "staging"
vigil_mode = "learn"
