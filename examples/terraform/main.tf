# Vigil example: the report function (src/app.py) deployed with the vigil-function module,
# which attaches the Vigil layer and the exec wrapper and zips src/vigil.yaml with the code.
#
#   terraform init
#   terraform apply -var vigil_layer_arn=arn:aws:lambda:eu-west-1:123456789012:layer:vigil:1 -var vigil_mode=learn

provider "aws" {
  region = var.region
}

module "report" {
  source = "./modules/vigil-function"

  function_name = "vigil-example-report-${var.stage}"
  source_dir    = "${path.module}/src"
  handler       = "app.handler"
  runtime       = "python3.13"
  environment = {
    REPORT_CURRENCY = "EUR"
  }

  vigil_layer_arn = var.vigil_layer_arn
  vigil_mode      = var.vigil_mode
}
