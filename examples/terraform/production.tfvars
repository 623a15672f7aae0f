# terraform apply -var-file=production.tfvars -var vigil_layer_arn=<your layer version ARN>
stage      = "production"
vigil_mode = "enforce"
