variable "region" {
  description = "AWS region to deploy to (the Vigil layer must be published there)."
  type        = string
  default     = "eu-west-1"
}

variable "stage" {
  description = "Deployment stage, part of the function's name: staging learns, production enforces."
  type        = string
  default     = "staging"
}

variable "vigil_layer_arn" {
  description = "Version ARN of the Vigil layer (arn:aws:lambda:REGION:ACCOUNT:layer:vigil:N), as published by `vigil lambda layer`."
  type        = string
}

variable "vigil_mode" {
  description = "Vigil mode: learn, detect or enforce."
  type        = string
  default     = "detect"
}
